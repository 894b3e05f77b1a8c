import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";
import { eventKinds, failureOf, ref, submitAll } from "./support.ts";

describe("leases.fail", () => {
  it("a retryable fail requeues with backoff: queued, runAfter in the future, attempts kept, error stored", async () => {
    // A long base delay, so "not runnable yet" is certain however slow the machine.
    await using t = await startTestCoordinator({ retryBaseMs: 60_000, retryMaxMs: 120_000 });
    const [id] = await submitAll(t, [{ type: "noop", maxAttempts: 3 }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const before = Date.now();
    const out = await w.client.leases.fail.mutate({
      workerId: w.workerId,
      leases: [{ ...ref(lease!), error: { message: "disk full", code: "ENOSPC" } }],
    });
    expect(out.results).toEqual([{ jobId: id, outcome: "ok", status: "queued" }]);

    const job = await t.admin.jobs.get.query({ id: id! });
    expect(job).toMatchObject({ status: "queued", attempts: 1, workerId: null, leaseExpiresAt: null, error: { message: "disk full", code: "ENOSPC", retryable: true } });
    // First retry: baseMs * [0.5, 1] (jitter) after the failure.
    expect(job.runAfter).toBeGreaterThanOrEqual(before + 30_000);
    expect(job.runAfter).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 10 })).toEqual([]);

    const retry = (await t.admin.jobs.events.query({ id: id! })).at(-1)!;
    expect(retry).toMatchObject({ kind: "retry_scheduled", attempt: 1, workerId: w.workerId, data: { runAfter: job.runAfter, error: { message: "disk full" } } });
  });

  it("after maxAttempts retryable failures the job is failed and keeps its last error; no attempt starts before its backoff", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop", maxAttempts: 3 }]);
    const w = await t.worker();
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], waitMs: 30_000 });
      expect(lease).toMatchObject({ jobId: id, attempt, maxAttempts: 3 });
      const out = await w.client.leases.fail.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), error: { message: `boom ${attempt}` } }] });
      expect(out.results[0]!.status).toBe(attempt < 3 ? "queued" : "failed");
    }
    const job = await t.admin.jobs.get.query({ id: id! });
    expect(job).toMatchObject({ status: "failed", attempts: 3, error: { message: "boom 3", retryable: true }, leaseExpiresAt: null });
    expect(job.finishedAt).not.toBeNull();

    const events = await t.admin.jobs.events.query({ id: id! });
    expect(events.map((e) => e.kind)).toEqual(["submitted", "leased", "retry_scheduled", "leased", "retry_scheduled", "leased", "failed"]);
    expect(events.map((e) => e.attempt)).toEqual([0, 1, 1, 2, 2, 3, 3]);
    // Each re-lease happened no earlier than the runAfter its retry was scheduled for.
    for (const [i, e] of events.entries()) {
      if (e.kind !== "retry_scheduled") continue;
      const { runAfter } = e.data as { runAfter: number };
      expect(runAfter).toBeGreaterThan(e.at);
      expect(events[i + 1]!.at).toBeGreaterThanOrEqual(runAfter);
    }
    // A failed job leases no more.
    expect(await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] })).toEqual([]);
  });

  it("a fail with retryable:false fails the job for good at once", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop", maxAttempts: 5 }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const out = await w.client.leases.fail.mutate({
      workerId: w.workerId,
      leases: [{ ...ref(lease!), error: { message: "bad input", code: "NON_RETRYABLE", stack: "Error: bad input\n  at x" }, retryable: false }],
    });
    expect(out.results).toEqual([{ jobId: id, outcome: "ok", status: "failed" }]);
    expect(await t.admin.jobs.get.query({ id: id! })).toMatchObject({
      status: "failed",
      attempts: 1,
      maxAttempts: 5,
      error: { message: "bad input", code: "NON_RETRYABLE", retryable: false },
    });
    expect(await eventKinds(t, id!)).toEqual(["submitted", "leased", "failed"]);
  });

  it("a repeated fail is idempotent (repeat); a stale fail gets LEASE_CONFLICT and changes nothing", async () => {
    await using t = await startTestCoordinator({ retryBaseMs: 60_000 });
    const [requeued, failed] = await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    const w = await t.worker();
    const leases = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 2 });
    const [la, lb] = [leases.find((l) => l.jobId === requeued)!, leases.find((l) => l.jobId === failed)!];
    await w.client.leases.fail.mutate({ workerId: w.workerId, leases: [{ ...ref(la), error: { message: "x" } }] });
    await w.client.leases.fail.mutate({ workerId: w.workerId, leases: [{ ...ref(lb), error: { message: "y" }, retryable: false }] });
    const snapshot = await Promise.all([requeued, failed].map((id) => t.admin.jobs.get.query({ id: id! })));

    const again = await w.client.leases.fail.mutate({
      workerId: w.workerId,
      leases: [
        { ...ref(la), error: { message: "x again" } },
        { ...ref(lb), error: { message: "y again" }, retryable: false },
      ],
    });
    expect(again.results).toEqual([
      { jobId: requeued, outcome: "repeat", status: "queued" },
      { jobId: failed, outcome: "repeat", status: "failed" },
    ]);
    const stale = await failureOf(w.client.leases.fail.mutate({ workerId: w.workerId, leases: [{ ...ref(lb), leaseId: "other", error: { message: "z" } }] }));
    expect(stale).toMatchObject({ code: "LEASE_CONFLICT", httpStatus: 409 });
    // A complete after the fail is a conflict too: the lease ended with the fail.
    const late = await failureOf(w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(la)] }));
    expect(late.code).toBe("LEASE_CONFLICT");

    expect(await Promise.all([requeued, failed].map((id) => t.admin.jobs.get.query({ id: id! })))).toEqual(snapshot);
    expect(await eventKinds(t, requeued!)).toEqual(["submitted", "leased", "retry_scheduled"]);
    expect(await eventKinds(t, failed!)).toEqual(["submitted", "leased", "failed"]);
  });

  it("in a batch, a stale fail is reported as conflict while the others apply", async () => {
    await using t = await startTestCoordinator();
    await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    const w = await t.worker();
    const [l0, l1] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 2 });
    const out = await w.client.leases.fail.mutate({
      workerId: w.workerId,
      leases: [
        { ...ref(l0!), attempt: 9, error: { message: "stale" } },
        { ...ref(l1!), error: { message: "real" }, retryable: false },
      ],
    });
    expect(out.results.map((r) => r.outcome)).toEqual(["conflict", "ok"]);
    expect((await t.admin.jobs.get.query({ id: l0!.jobId })).status).toBe("leased");
    expect((await t.admin.jobs.get.query({ id: l1!.jobId })).status).toBe("failed");
  });
});
