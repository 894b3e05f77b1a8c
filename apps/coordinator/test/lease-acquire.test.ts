import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";
import { sleep, submitAll } from "./support.ts";

describe("leases.acquire", () => {
  it("claims up to max jobs in priority order: higher priority first, then earlier runAfter, then lower id", async () => {
    await using t = await startTestCoordinator();
    const past = Date.now() - 60_000;
    // Two queues of one type, so both the single-index path and the cross-queue merge are used.
    const specs = [
      { priority: 0, runAfter: past + 3 },
      { priority: 5, runAfter: past + 2 },
      { priority: -1, runAfter: past },
      { priority: 5, runAfter: past + 1, queue: "other" },
      { priority: 10, runAfter: past + 9 },
      { priority: 0, runAfter: past + 3, queue: "other" },
      { priority: 0, runAfter: past + 3 },
    ];
    const ids = await submitAll(t, specs.map((s) => ({ type: "noop", ...s })));
    const expected = ids
      .map((id, i) => ({ id, ...specs[i]! }))
      .sort((a, b) => b.priority - a.priority || a.runAfter - b.runAfter || a.id - b.id)
      .map((j) => j.id);

    const w = await t.worker();
    const first = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 3 });
    expect(first.map((l) => l.jobId)).toEqual(expected.slice(0, 3));
    const rest = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 100 });
    expect(rest.map((l) => l.jobId)).toEqual(expected.slice(3));
    expect(await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 100 })).toEqual([]);

    for (const lease of [...first, ...rest]) {
      expect(lease).toMatchObject({ attempt: 1, type: "noop", leaseSeconds: 60, maxAttempts: 3 });
      expect(lease.leaseId).not.toBe("");
      expect(lease.expiresAt).toBeGreaterThan(Date.now());
    }
    expect(new Set([...first, ...rest].map((l) => l.leaseId)).size).toBe(ids.length);
  });

  it("claims only the requested types", async () => {
    await using t = await startTestCoordinator();
    const [execId] = await submitAll(t, [{ type: "exec", payload: { command: "true" } }]);
    await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker(["exec"]);
    const leases = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["exec"], max: 10 });
    expect(leases.map((l) => l.jobId)).toEqual([execId]);
    expect(leases[0]!.payload).toMatchObject({ command: "true", args: [], timeoutMs: 3_600_000 });
  });

  it("does not lease a job before its runAfter, and a long-poll picks it up once it is due", async () => {
    await using t = await startTestCoordinator();
    const runAfter = Date.now() + 1500;
    const [id] = await submitAll(t, [{ type: "noop", runAfter }]);
    const w = await t.worker();
    expect(await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] })).toEqual([]);
    expect((await t.admin.jobs.get.query({ id: id! })).status).toBe("queued");

    const leases = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], waitMs: 30_000 });
    expect(leases.map((l) => l.jobId)).toEqual([id]);
    const leased = (await t.admin.jobs.events.query({ id: id! })).find((e) => e.kind === "leased");
    expect(leased!.at).toBeGreaterThanOrEqual(runAfter);
  });

  it("long-poll: an acquire waiting on an empty queue returns the job submitted while it waits", async () => {
    await using t = await startTestCoordinator();
    const w = await t.worker();
    const waiting = w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], waitMs: 30_000 });
    await sleep(200); // let the acquire reach the server and start waiting (if not, it claims at once: same outcome)
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const leases = await waiting;
    expect(leases.map((l) => l.jobId)).toEqual([id]);
    expect((await t.admin.jobs.get.query({ id: id! })).workerId).toBe(w.workerId);
  });

  it("long-poll: an acquire returns [] at its deadline when nothing comes", async () => {
    await using t = await startTestCoordinator();
    const w = await t.worker();
    await submitAll(t, [{ type: "exec", payload: { command: "true" } }]); // another type: must not wake it with a job
    const started = Date.now();
    const leases = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], waitMs: 400 });
    expect(leases).toEqual([]);
    // It waited out its deadline rather than answering at once (a lower bound, not a speed claim).
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
  });

  it("concurrent acquires from several workers never hand out the same job twice", async () => {
    await using t = await startTestCoordinator();
    const total = 200;
    await submitAll(t, Array.from({ length: total }, (_, i) => ({ type: "noop", priority: i % 7 })));
    const workers = await Promise.all([1, 2, 3, 4].map(() => t.worker()));
    const got = new Map<number, string[]>();

    await Promise.all(
      workers.map(async (w, n) => {
        for (;;) {
          const leases = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 1 + ((n * 3) % 5) });
          if (leases.length === 0) return;
          for (const l of leases) got.set(l.jobId, [...(got.get(l.jobId) ?? []), w.workerId]);
        }
      }),
    );

    expect(got.size).toBe(total);
    expect([...got.values()].every((holders) => holders.length === 1)).toBe(true);
    const counts = await t.admin.jobs.counts.query({ type: "noop" });
    expect(counts).toEqual([{ type: "noop", status: "leased", count: total }]);
    // Each job has exactly one `leased` event, naming the worker that got it.
    const { jobs } = await t.admin.jobs.list.query({ limit: 1000 });
    for (const job of jobs) expect(job.workerId).toBe(got.get(job.id)![0]);
    const events = await Promise.all(jobs.map((j) => t.admin.jobs.events.query({ id: j.id })));
    for (const list of events) expect(list.filter((e) => e.kind === "leased")).toHaveLength(1);
  });
});
