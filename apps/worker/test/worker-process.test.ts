import { startTestCoordinator } from "@drover/coordinator/testing";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, spawnCli } from "./helpers.ts";

const sleepy = resolve(import.meta.dirname, "fixtures/sleepy-plugin.mjs");
const bad = resolve(import.meta.dirname, "fixtures/bad-plugin.mjs");

describe("drover worker as a child process", () => {
  it("on SIGTERM stops leasing, lets the running job finish within the grace period, says bye and exits 0", async () => {
    await using t = await startTestCoordinator({ plugins: [sleepy] });
    const { token } = await t.admin.tokens.create.mutate({ name: "w", role: "worker" });
    const w = spawnCli(["worker", "--coordinator", t.coordinator.url, "--token", token, "--plugin", sleepy, "--types", "test.sleepy", "--shutdown-grace-ms", "10000", "--log-level", "info"]);
    const running = await t.admin.jobs.submit.mutate({ type: "test.sleepy", payload: { ms: 1500 } });
    await eventually(async () => (await t.admin.jobs.get.query({ id: running.id })).status === "leased", 30_000, "job leased");
    const waiting = await t.admin.jobs.submit.mutate({ type: "test.sleepy", payload: { ms: 1 } });
    w.proc.kill("SIGTERM");
    const exit = await w.exited;
    expect(exit.code).toBe(0);
    expect((await t.admin.jobs.get.query({ id: running.id })).status).toBe("succeeded");
    // It took nothing new after SIGTERM.
    expect((await t.admin.jobs.get.query({ id: waiting.id })).status).toBe("queued");
    expect((await t.admin.workers.list.query())[0]?.status).toBe("gone");
    expect(w.output()).toContain("said bye");
  });

  it("refuses a broken plugin at start with a message naming it", async () => {
    const w = spawnCli(["worker", "--coordinator", "http://127.0.0.1:9", "--token", "x".repeat(20), "--plugin", bad]);
    const exit = await w.exited;
    expect(exit.code).not.toBe(0);
    expect(w.output()).toContain(`plugin '${bad}'`);
    expect(w.output()).toContain("run must be a function");
  });

  it("refuses a wrong setting at start, naming the field and its env var", async () => {
    const w = spawnCli(["worker", "--token", "x".repeat(20), "--concurrency", "zero"]);
    expect((await w.exited).code).toBe(2);
    expect(w.output()).toMatch(/concurrency \(flag --concurrency or env DROVER_CONCURRENCY\)/);
    const w2 = spawnCli(["worker", "--token", "x".repeat(20)], { DROVER_URL: "not a url" });
    expect((await w2.exited).code).toBe(2);
    expect(w2.output()).toMatch(/url \(flag --coordinator or env DROVER_URL\)/);
  });
});
