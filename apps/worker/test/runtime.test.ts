import { startTestCoordinator } from "@drover/coordinator/testing";
import { loadPlugin } from "@drover/jobs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, startInProcessWorker } from "./helpers.ts";

const sleepyPath = resolve(import.meta.dirname, "fixtures/sleepy-plugin.mjs");

describe("worker runtime (in-process worker, real coordinator over HTTP)", () => {
  it("runs jobs through a plugin with progress, logs and a checked result", async () => {
    await using t = await startTestCoordinator({ plugins: [sleepyPath] });
    const types = await loadPlugin(sleepyPath);
    await using w = await startInProcessWorker(t, { types: ["test.sleepy"], concurrency: 2 }, types);
    const ids = (await t.admin.jobs.submitBatch.mutate({ jobs: Array.from({ length: 6 }, () => ({ type: "test.sleepy", payload: { ms: 20 } })) }, )).map((r) => r.id);
    for (const id of ids) {
      const job = await eventually(async () => {
        const j = await t.admin.jobs.get.query({ id });
        return j.status === "succeeded" ? j : undefined;
      });
      expect(job.result).toEqual({ slept: 20, pid: process.pid });
    }
    expect(w.worker.stats.succeeded).toBe(6);
  });

  it("fails a job for good on a NonRetryableError and retries other errors up to maxAttempts", async () => {
    await using t = await startTestCoordinator({ retryBaseMs: 10, plugins: [sleepyPath] });
    const types = await loadPlugin(sleepyPath);
    await using _w = await startInProcessWorker(t, { types: ["test.sleepy", "noop"] }, types);
    const fatal = await t.admin.jobs.submit.mutate({ type: "test.sleepy", payload: { fatal: true } });
    const flaky = await t.admin.jobs.submit.mutate({ type: "noop", payload: { failWith: "boom" }, maxAttempts: 3 });
    const f = await eventually(async () => ((await t.admin.jobs.get.query({ id: fatal.id })).status === "failed" ? t.admin.jobs.get.query({ id: fatal.id }) : undefined));
    expect(f.attempts).toBe(1);
    expect(f.error).toMatchObject({ message: "fatal by request", retryable: false });
    const r = await eventually(async () => ((await t.admin.jobs.get.query({ id: flaky.id })).status === "failed" ? t.admin.jobs.get.query({ id: flaky.id }) : undefined));
    expect(r.attempts).toBe(3);
    expect(r.error?.message).toBe("boom");
  });

  it("aborts a running job when it is cancelled, and takes the next job", async () => {
    await using t = await startTestCoordinator({ plugins: [sleepyPath] });
    const types = await loadPlugin(sleepyPath);
    await using w = await startInProcessWorker(t, { types: ["test.sleepy"], concurrency: 1 }, types);
    const long = await t.admin.jobs.submit.mutate({ type: "test.sleepy", payload: { ms: 60_000 }, leaseSeconds: 3 });
    await eventually(async () => (await t.admin.jobs.get.query({ id: long.id })).status === "leased");
    const next = await t.admin.jobs.submit.mutate({ type: "test.sleepy", payload: { ms: 1 } });
    await t.admin.jobs.cancel.mutate({ id: long.id });
    // The heartbeat (every second for a 3 s lease) reports the cancel; the slot frees up.
    await eventually(async () => (await t.admin.jobs.get.query({ id: next.id })).status === "succeeded", 20_000, "next job");
    expect(w.worker.stats.abandoned).toBe(1);
    expect((await t.admin.jobs.get.query({ id: long.id })).status).toBe("cancelled");
  });

  it("heartbeats keep a lease longer than its length alive and carry progress and logs", async () => {
    await using t = await startTestCoordinator({ plugins: [sleepyPath] });
    const types = await loadPlugin(sleepyPath);
    await using _w = await startInProcessWorker(t, { types: ["test.sleepy"] }, types);
    const { id } = await t.admin.jobs.submit.mutate({ type: "test.sleepy", payload: { ms: 3500 }, leaseSeconds: 1 });
    const progressed = await eventually(async () => {
      const j = await t.admin.jobs.get.query({ id });
      return j.progress?.message === "half way" ? j : undefined;
    });
    expect(progressed.progress?.fraction).toBe(0.5);
    const done = await eventually(async () => {
      const j = await t.admin.jobs.get.query({ id });
      return j.status === "succeeded" ? j : undefined;
    });
    expect(done.attempts).toBe(1); // never expired although the job ran 3.5 leases long
    const logs = await t.admin.jobs.logs.query({ id });
    expect(logs.map((l) => l.line)).toContain("starting attempt 1");
  });

  it("keeps running jobs while the coordinator is down and reports them when it is back", async () => {
    const first = await startTestCoordinator({ plugins: [sleepyPath] });
    const dir = first.dir;
    const port = first.coordinator.port;
    const types = await loadPlugin(sleepyPath);
    const w = await startInProcessWorker(first, { types: ["test.sleepy"] }, types);
    const { id } = await first.admin.jobs.submit.mutate({ type: "test.sleepy", payload: { ms: 2500 }, leaseSeconds: 30 });
    await eventually(async () => (await first.admin.jobs.get.query({ id })).status === "leased");
    await first.coordinator.close(); // the job goes on in the worker meanwhile
    await new Promise((r) => setTimeout(r, 1500));
    await using second = await startTestCoordinator({ port, plugins: [sleepyPath] }, dir);
    const job = await eventually(async () => {
      const j = await second.admin.jobs.get.query({ id });
      return j.status === "succeeded" ? j : undefined;
    }, 30_000, "completion after restart");
    expect(job.attempts).toBe(1);
    await w.worker.shutdown(0);
  });

  it("on shutdown releases the jobs still running after the grace period, then says bye", async () => {
    await using t = await startTestCoordinator({ plugins: [sleepyPath] });
    const types = await loadPlugin(sleepyPath);
    const w = await startInProcessWorker(t, { types: ["test.sleepy"], concurrency: 2 }, types);
    const quick = await t.admin.jobs.submit.mutate({ type: "test.sleepy", payload: { ms: 200 } });
    const slow = await t.admin.jobs.submit.mutate({ type: "test.sleepy", payload: { ms: 60_000 } });
    await eventually(async () => (await t.admin.jobs.list.query({ status: "leased" })).jobs.length === 2);
    await w.worker.shutdown(1000);
    expect((await t.admin.jobs.get.query({ id: quick.id })).status).toBe("succeeded");
    const released = await t.admin.jobs.get.query({ id: slow.id });
    expect(released.status).toBe("queued");
    const events = await t.admin.jobs.events.query({ id: slow.id });
    expect(events.map((e) => e.kind)).toEqual(["submitted", "leased", "released"]);
    const workers = await t.admin.workers.list.query();
    expect(workers.find((x) => x.id === w.worker.id)?.status).toBe("gone");
  });
});
