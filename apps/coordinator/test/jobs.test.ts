import type { Job, JobSubmitInput } from "@drover/protocol";
import { describe, expect, it } from "vitest";
import { startTestCoordinator, type TestCoordinator } from "./helpers.ts";
import { failureOf, ref, submitAll } from "./support.ts";

/** Every job, walking jobs.list page by page with the given filter. */
async function listAll(t: TestCoordinator, filter: { type?: string; queue?: string; status?: Job["status"] }, limit: number): Promise<number[]> {
  const ids: number[] = [];
  let cursor: number | undefined;
  for (;;) {
    const page = await t.admin.jobs.list.query({ ...filter, limit, ...(cursor ? { cursor } : {}) });
    expect(page.jobs.length).toBeLessThanOrEqual(limit);
    ids.push(...page.jobs.map((j) => j.id));
    if (page.nextCursor === null) return ids;
    cursor = page.nextCursor;
  }
}

describe("jobs", () => {
  it("submit fills defaults: queue = type, priority 0, type's lease/attempt defaults, parsed payload, createdBy", async () => {
    await using t = await startTestCoordinator();
    const { id, deduplicated } = await t.admin.jobs.submit.mutate({ type: "exec", payload: { command: "echo" } });
    expect(deduplicated).toBe(false);
    const job = await t.admin.jobs.get.query({ id });
    expect(job).toMatchObject({ type: "exec", queue: "exec", priority: 0, status: "queued", attempts: 0, maxAttempts: 3, leaseSeconds: 120, createdBy: "admin" });
    expect(job.payload).toEqual({ command: "echo", args: [], env: {}, timeoutMs: 3_600_000, okExitCodes: [0], tailBytes: 4096 });
    const custom = await t.admin.jobs.submit.mutate({ type: "noop", queue: "slow-lane", priority: 7, maxAttempts: 9, leaseSeconds: 5 });
    expect(await t.admin.jobs.get.query({ id: custom.id })).toMatchObject({ queue: "slow-lane", priority: 7, maxAttempts: 9, leaseSeconds: 5, payload: { sleepMs: 0 } });
  });

  it("idempotencyKey: a second submit returns the first job's id with deduplicated:true and adds nothing", async () => {
    await using t = await startTestCoordinator();
    const first = await t.admin.jobs.submit.mutate({ type: "noop", idempotencyKey: "shard-17" });
    const second = await t.admin.jobs.submit.mutate({ type: "noop", payload: { sleepMs: 5 }, idempotencyKey: "shard-17" });
    expect(second).toEqual({ id: first.id, deduplicated: true });
    // In a batch: against an existing key, and against an earlier job of the same batch.
    const batch = await t.admin.jobs.submitBatch.mutate({
      jobs: [{ type: "noop", idempotencyKey: "shard-17" }, { type: "noop", idempotencyKey: "shard-18" }, { type: "noop", idempotencyKey: "shard-18" }, { type: "noop" }],
    });
    expect(batch[0]).toEqual({ id: first.id, deduplicated: true });
    expect(batch[1]!.deduplicated).toBe(false);
    expect(batch[2]).toEqual({ id: batch[1]!.id, deduplicated: true });
    expect(batch[3]!.deduplicated).toBe(false);
    expect((await t.admin.jobs.list.query({})).jobs).toHaveLength(3);
    expect((await t.admin.jobs.get.query({ id: first.id })).payload).toEqual({ sleepMs: 0 });
  });

  it("submitBatch is all-or-nothing: one bad job inserts nothing and the error names its field", async () => {
    await using t = await startTestCoordinator();
    const good: JobSubmitInput[] = [{ type: "noop" }, { type: "exec", payload: { command: "ls" } }, { type: "noop", idempotencyKey: "k" }];
    const cases: { job: JobSubmitInput; code: string; field: string }[] = [
      { job: { type: "exec", payload: { command: 42 } }, code: "PAYLOAD_INVALID", field: "jobs.3.payload.command" },
      { job: { type: "noop", payload: { sleepMs: 1, extra: true } }, code: "PAYLOAD_INVALID", field: "jobs.3.payload" },
      { job: { type: "no.such.type" }, code: "UNKNOWN_JOB_TYPE", field: "jobs.3.type" },
      { job: { type: "noop", priority: 0.5 }, code: "INVALID_INPUT", field: "jobs.3.priority" },
      { job: { type: "exec", payload: { command: "x", env: { BIG: "x".repeat(1_000_001) } } }, code: "PAYLOAD_TOO_LARGE", field: "jobs.3.payload" },
    ];
    for (const { job, code, field } of cases) {
      const f = await failureOf(t.admin.jobs.submitBatch.mutate({ jobs: [...good, job, { type: "noop" }] }));
      expect(f.code).toBe(code);
      expect(f.message).toContain(field);
      expect(f.httpStatus).toBe(code === "PAYLOAD_TOO_LARGE" ? 413 : 400);
    }
    expect(await t.admin.jobs.list.query({})).toEqual({ jobs: [], nextCursor: null });
    expect(await t.admin.jobs.counts.query({})).toEqual([]);
    // The idempotency key of the rejected batch was not taken.
    expect((await t.admin.jobs.submit.mutate({ type: "noop", idempotencyKey: "k" })).deduplicated).toBe(false);
  });

  it("list with filters and cursor paging covers every matching job exactly once, newest first", async () => {
    await using t = await startTestCoordinator();
    const specs: JobSubmitInput[] = Array.from({ length: 40 }, (_, i) => ({
      type: i % 3 === 0 ? "exec" : "noop",
      queue: i % 2 === 0 ? "even" : "odd",
      ...(i % 3 === 0 ? { payload: { command: "true" } } : {}),
    }));
    const ids = await submitAll(t, specs);
    const w = await t.worker(["noop", "exec"]);
    const leased = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 5 });
    await t.admin.jobs.cancel.mutate({ id: ids[39]! }); // an exec job: still queued
    const jobs = await Promise.all(ids.map((id) => t.admin.jobs.get.query({ id })));
    expect(jobs.filter((j) => j.status === "leased").map((j) => j.id).sort()).toEqual(leased.map((l) => l.jobId).sort());

    const filters: { type?: string; queue?: string; status?: Job["status"] }[] = [
      {},
      { type: "exec" },
      { queue: "odd" },
      { status: "leased" },
      { status: "cancelled" },
      { type: "noop", queue: "even", status: "queued" },
      { type: "nothing-here" },
    ];
    for (const filter of filters) {
      const expected = jobs
        .filter((j) => (!filter.type || j.type === filter.type) && (!filter.queue || j.queue === filter.queue) && (!filter.status || j.status === filter.status))
        .map((j) => j.id)
        .sort((a, b) => b - a);
      for (const limit of [1, 7, 100]) expect(await listAll(t, filter, limit)).toEqual(expected);
    }
    // The default page is 100 and nextCursor is null when the page holds the rest.
    expect(await t.admin.jobs.list.query({})).toMatchObject({ nextCursor: null });
    expect((await t.admin.jobs.list.query({})).jobs).toHaveLength(40);
  });

  it("counts jobs by type and status, optionally for one type or queue", async () => {
    await using t = await startTestCoordinator();
    const ids = await submitAll(t, [
      { type: "noop" },
      { type: "noop" },
      { type: "noop", queue: "side" },
      { type: "exec", payload: { command: "a" } },
      { type: "exec", payload: { command: "b" }, queue: "side" },
    ]);
    await t.admin.jobs.cancel.mutate({ id: ids[0]! });
    const sorted = (rows: { type: string; status: string; count: number }[]) => [...rows].sort((a, b) => `${a.type}${a.status}`.localeCompare(`${b.type}${b.status}`));
    expect(sorted(await t.admin.jobs.counts.query({}))).toEqual([
      { type: "exec", status: "queued", count: 2 },
      { type: "noop", status: "cancelled", count: 1 },
      { type: "noop", status: "queued", count: 2 },
    ]);
    expect(sorted(await t.admin.jobs.counts.query({ type: "noop" }))).toEqual([
      { type: "noop", status: "cancelled", count: 1 },
      { type: "noop", status: "queued", count: 2 },
    ]);
    expect(sorted(await t.admin.jobs.counts.query({ queue: "side" }))).toEqual([
      { type: "exec", status: "queued", count: 1 },
      { type: "noop", status: "queued", count: 1 },
    ]);
  });

  it("cancel: queued and leased jobs only; anything else is INVALID_STATE, an unknown id NOT_FOUND", async () => {
    await using t = await startTestCoordinator();
    const [queued, leasedId, doneId] = await submitAll(t, [{ type: "noop", priority: -1 }, { type: "noop", priority: 2 }, { type: "noop", priority: 1 }]);
    const w = await t.worker();
    const leases = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 2 });
    expect(leases.map((l) => l.jobId)).toEqual([leasedId, doneId]);
    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(leases[1]!)] });

    expect(await t.admin.jobs.cancel.mutate({ id: queued! })).toMatchObject({ status: "cancelled", leaseExpiresAt: null });
    const c = await t.admin.jobs.cancel.mutate({ id: leasedId! });
    expect(c.status).toBe("cancelled");
    expect(c.finishedAt).not.toBeNull();
    for (const id of [queued!, doneId!]) expect(await failureOf(t.admin.jobs.cancel.mutate({ id }))).toMatchObject({ code: "INVALID_STATE", httpStatus: 409 });
    expect((await t.admin.jobs.get.query({ id: doneId! })).status).toBe("succeeded");
    for (const call of [t.admin.jobs.cancel.mutate({ id: 9999 }), t.admin.jobs.get.query({ id: 9999 }), t.admin.jobs.events.query({ id: 9999 }), t.admin.jobs.logs.query({ id: 9999 })]) {
      expect(await failureOf(call)).toMatchObject({ code: "NOT_FOUND", httpStatus: 404 });
    }
    // A cancelled job is never leased.
    expect(await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] })).toEqual([]);
  });

  it("retry: only failed or cancelled jobs go back to queued with fresh attempts; others are INVALID_STATE", async () => {
    await using t = await startTestCoordinator();
    const [failedId, cancelledId, leasedId, doneId, queuedId] = await submitAll(t, [
      { type: "noop", priority: 5 },
      { type: "noop", priority: 4 },
      { type: "noop", priority: 3 },
      { type: "noop", priority: 2 },
      { type: "noop", priority: 1 },
    ]);
    const w = await t.worker();
    const [lf, , , ld] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 4 });
    await w.client.leases.fail.mutate({ workerId: w.workerId, leases: [{ ...ref(lf!), error: { message: "nope" }, retryable: false }] });
    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(ld!)] });
    await t.admin.jobs.cancel.mutate({ id: cancelledId! });

    for (const id of [leasedId!, doneId!, queuedId!]) {
      const before = await t.admin.jobs.get.query({ id });
      expect(await failureOf(t.admin.jobs.retry.mutate({ id }))).toMatchObject({ code: "INVALID_STATE", httpStatus: 409 });
      expect(await t.admin.jobs.get.query({ id })).toEqual(before);
    }
    for (const id of [failedId!, cancelledId!]) {
      const before = await t.admin.jobs.get.query({ id });
      const job = await t.admin.jobs.retry.mutate({ id });
      // Fresh attempts: the budget grows by maxAttempts, and attempts keeps counting (fencing).
      expect(job).toMatchObject({ status: "queued", attempts: before.attempts, maxAttempts: before.attempts + before.maxAttempts, workerId: null, finishedAt: null });
    }
    const again = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 10 });
    expect(again.map((l) => l.jobId)).toEqual([failedId, cancelledId, queuedId]);
    expect(again.slice(0, 2).map((l) => l.attempt)).toEqual([2, 2]);
    expect(await failureOf(t.admin.jobs.retry.mutate({ id: 12345 }))).toMatchObject({ code: "NOT_FOUND" });
  });
});
