import { createDroverClient } from "@drover/protocol";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "../bin/drover.mjs");

function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? process.cwd(), env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((res) => proc.on("exit", (code) => res(code)));
  return { proc, exited, output: () => out };
}

const SUBCOMMANDS = [
  ["up"], ["coordinator"], ["worker"], ["status"],
  ["jobs", "submit"], ["jobs", "list"], ["jobs", "get"], ["jobs", "cancel"], ["jobs", "retry"],
  ["queues", "list"], ["queues", "pause"], ["queues", "resume"], ["queues", "clear"], ["queues", "stats"],
  ["workers", "list"], ["workers", "leaderboard"], ["tokens", "create"], ["tokens", "list"], ["tokens", "revoke"],
  ["storage", "ls"], ["storage", "stat"], ["storage", "cat"], ["storage", "cp"], ["storage", "rm"], ["storage", "sync"],
  ["crawl", "seed"], ["crawl", "status"], ["crawl", "leaderboard"], ["queues", "concurrency"],
  ["download", "add"], ["download", "status"], ["download", "pause"], ["download", "resume"], ["download", "clear"], ["download", "stats"], ["download", "concurrency"],
  ["projects", "add"], ["projects", "list"], ["datasets", "add"], ["datasets", "list"], ["datasets", "show"], ["datasets", "upload"], ["datasets", "files"], ["items", "add"], ["items", "list"], ["attributes", "add"],
];

describe("drover CLI", () => {
  // Each check starts the CLI (Node + the TypeScript loader, about a second of CPU): a few
  // at a time, so that 50 of them do not starve each other on a small CI machine.
  it("has --help on every subcommand", { timeout: 300_000 }, async () => {
    const all: { cmd: string[]; code: number | null; out: string }[] = [];
    const queue = [...SUBCOMMANDS];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let cmd = queue.shift(); cmd !== undefined; cmd = queue.shift()) {
          const r = run([...cmd, "--help"]);
          all.push({ cmd, code: await r.exited, out: r.output() });
        }
      }),
    );
    expect(all).toHaveLength(SUBCOMMANDS.length);
    for (const { cmd, code, out } of all) {
      expect(code, cmd.join(" ")).toBe(0);
      expect(out, cmd.join(" ")).toContain(`Usage: drover ${cmd.join(" ")}`);
    }
  });

  it("refuses a wrong coordinator setting at start, naming the field", async () => {
    const r = run(["coordinator", "--port", "99999"], { env: { DROVER_LOG_LEVEL: "silent" } });
    expect(await r.exited).toBe(2);
    expect(r.output()).toContain("port (flag --port or env DROVER_PORT)");
    const r2 = run(["coordinator"], { env: { DROVER_DEFAULT_LEASE_SECONDS: "-1" } });
    expect(await r2.exited).toBe(2);
    expect(r2.output()).toContain("defaultLeaseSeconds (flag --default-lease-seconds or env DROVER_DEFAULT_LEASE_SECONDS)");
    // A .env in the working directory is read too.
    const cwd = mkdtempSync(join(tmpdir(), "drover-env-"));
    writeFileSync(join(cwd, ".env"), "DROVER_PORT=notaport\n");
    const r3 = run(["coordinator"], { cwd });
    expect(await r3.exited).toBe(2);
    expect(r3.output()).toContain("port (flag --port or env DROVER_PORT)");
    rmSync(cwd, { recursive: true, force: true });
  });

  it("`drover up` starts a coordinator on SQLite under ./.drover with local workers and prints the URL and an admin token", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "drover-up-"));
    const up = run(["up", "--port", "0", "--log-level", "warn"], { cwd });
    try {
      let match: RegExpMatchArray | null = null;
      for (let i = 0; i < 300 && !match; i++) {
        match = up.output().match(/coordinator (http:\/\/127\.0\.0\.1:\d+)[\s\S]*admin token for this session:\n(\S+)/);
        if (!match) await sleep(100);
      }
      expect(match, up.output()).not.toBeNull();
      const admin = createDroverClient({ url: match![1]!, token: match![2]! });
      const { id } = await admin.jobs.submit.mutate({ type: "noop", payload: {} });
      let status = "";
      for (let i = 0; i < 200 && status !== "succeeded"; i++) {
        status = (await admin.jobs.get.query({ id })).status;
        if (status !== "succeeded") await sleep(50);
      }
      expect(status).toBe("succeeded");
      // The CLI's own client commands work against it too.
      const list = run(["jobs", "list", "--json"], { env: { DROVER_URL: match![1]!, DROVER_TOKEN: match![2]! } });
      expect(await list.exited).toBe(0);
      expect(JSON.parse(list.output()).jobs[0].id).toBe(id);
      up.proc.kill("SIGTERM");
      expect(await up.exited).toBe(0);
      // The data lives in ./.drover of the directory it ran in.
      const again = run(["up", "--port", "0", "--log-level", "warn"], { cwd });
      for (let i = 0; i < 300 && !again.output().includes("admin token"); i++) await sleep(100);
      const m2 = again.output().match(/coordinator (http:\/\/127\.0\.0\.1:\d+)[\s\S]*admin token for this session:\n(\S+)/)!;
      const admin2 = createDroverClient({ url: m2[1]!, token: m2[2]! });
      expect((await admin2.jobs.get.query({ id })).status).toBe("succeeded");
      // The previous session's token was revoked when the new one was minted.
      const stale = createDroverClient({ url: m2[1]!, token: match![2]! });
      await expect(stale.jobs.get.query({ id })).rejects.toMatchObject({ data: { droverCode: "UNAUTHENTICATED" } });
      again.proc.kill("SIGTERM");
      await again.exited;
    } finally {
      up.proc.kill("SIGKILL");
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
