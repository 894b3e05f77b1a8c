import { ADMIN_TOKEN } from "@drover/coordinator/testing";
import { createDroverClient } from "@drover/protocol";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { eventually, spawnCli, type Child } from "./helpers.ts";

const JOBS = 10_000;
const WORKERS = 8;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

describe("crash: workers SIGKILLed and the coordinator restarted mid-run", () => {
  const children: Child[] = [];
  const dir = mkdtempSync(join(tmpdir(), "drover-crash-"));
  afterAll(() => {
    for (const c of children) c.proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it(`ends with all ${JOBS} jobs succeeded exactly once, none lost, none leased`, async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { DROVER_ADMIN_TOKEN: ADMIN_TOKEN, DROVER_LOG_LEVEL: "warn", DROVER_REAPER_INTERVAL_MS: "200", DROVER_RETRY_BASE_MS: "50" };
    const startCoordinator = async () => {
      const c = spawnCli(["coordinator", "--port", String(port), "--data-dir", dir], env);
      children.push(c);
      await eventually(() => c.output().includes("listening on"), 30_000, "coordinator start");
      return c;
    };
    let coordinator = await startCoordinator();
    const admin = createDroverClient({ url, token: ADMIN_TOKEN });
    // Short leases so the SIGKILLed workers' jobs are reaped within seconds.
    for (let i = 0; i < JOBS; i += 2000) {
      await admin.jobs.submitBatch.mutate({ jobs: Array.from({ length: 2000 }, (_, k) => ({ type: "noop", payload: { sleepMs: 2 }, leaseSeconds: 3, maxAttempts: 20, idempotencyKey: `crash-${i + k}` })) });
    }
    const { token } = await admin.tokens.create.mutate({ name: "crash-workers", role: "worker" });
    const workers = Array.from({ length: WORKERS }, (_, i) => {
      const w = spawnCli(["worker", "--coordinator", url, "--token", token, "--types", "noop", "--concurrency", "4", "--name", `crash-${i}`, "--log-level", "warn", "--poll-ms", "2000"]);
      children.push(w);
      return w;
    });
    const succeeded = async () => (await admin.jobs.counts.query({ type: "noop" })).find((c) => c.status === "succeeded")?.count ?? 0;

    await eventually(async () => (await succeeded()) >= JOBS * 0.2, 120_000, "20% done");
    workers[0]!.proc.kill("SIGKILL");
    workers[1]!.proc.kill("SIGKILL");

    await eventually(async () => (await succeeded()) >= JOBS * 0.4, 120_000, "40% done");
    coordinator.proc.kill("SIGKILL");
    await coordinator.exited;
    await new Promise((r) => setTimeout(r, 1000)); // workers find it gone and back off
    coordinator = await startCoordinator();

    await eventually(async () => (await succeeded()) === JOBS, 240_000, "all jobs done");
    for (const w of workers.slice(2)) expect(w.proc.exitCode).toBeNull(); // survived the restart

    for (const w of workers.slice(2)) w.proc.kill("SIGTERM");
    await Promise.all(workers.slice(2).map((w) => w.exited));
    coordinator.proc.kill("SIGTERM");
    expect((await coordinator.exited).code).toBe(0);

    const db = new Database(join(dir, "drover.db"), { readonly: true });
    try {
      const byStatus = db.prepare("SELECT status, count(*) AS n FROM jobs GROUP BY status").all();
      expect(byStatus).toEqual([{ status: "succeeded", n: JOBS }]);
      const twice = db.prepare("SELECT job_id, count(*) AS n FROM job_events WHERE kind = 'succeeded' GROUP BY job_id HAVING n != 1").all();
      expect(twice).toEqual([]);
      const events = db.prepare("SELECT count(DISTINCT job_id) AS n FROM job_events WHERE kind = 'succeeded'").get() as { n: number };
      expect(events.n).toBe(JOBS);
    } finally {
      db.close();
    }
  }, 600_000);
});
