import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";
import { failureOf, ref, sleep, statusBecomes, submitAll } from "./support.ts";

describe("leases.heartbeat", () => {
  it("extends the lease: expiresAt grows and jobs.get shows the new expiry", async () => {
    await using t = await startTestCoordinator();
    await submitAll(t, [{ type: "noop", leaseSeconds: 30 }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    await sleep(20);
    const out = await w.client.leases.heartbeat.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    expect(out.lost).toEqual([]);
    expect(out.cancelled).toEqual([]);
    expect(out.extended).toHaveLength(1);
    expect(out.extended[0]!.jobId).toBe(lease!.jobId);
    expect(out.extended[0]!.expiresAt).toBeGreaterThan(lease!.expiresAt);
    const job = await t.admin.jobs.get.query({ id: lease!.jobId });
    expect(job.leaseExpiresAt).toBe(out.extended[0]!.expiresAt);
    expect(job.status).toBe("leased");
    expect(job.attempts).toBe(1);
  });

  it("keeps a short lease alive past its length: the reaper does not take a heartbeating job", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop", leaseSeconds: 1 }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const until = Date.now() + 2000; // twice the lease
    while (Date.now() < until) {
      const out = await w.client.leases.heartbeat.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
      expect(out.extended.map((e) => e.jobId)).toEqual([id]);
      await sleep(100);
    }
    const done = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    expect(done.results[0]!.outcome).toBe("ok");
    expect((await t.admin.jobs.events.query({ id: id! })).map((e) => e.kind)).toEqual(["submitted", "leased", "succeeded"]);
  });

  it("carries progress (jobs.get progress) and log lines (jobs.logs) for the current attempt", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    expect((await t.admin.jobs.get.query({ id: id! })).progress).toBeNull();

    await w.client.leases.heartbeat.mutate({
      workerId: w.workerId,
      leases: [{ ...ref(lease!), progress: { fraction: 0.25, message: "a quarter" }, logs: ["one", "two"] }],
    });
    expect((await t.admin.jobs.get.query({ id: id! })).progress).toEqual({ fraction: 0.25, message: "a quarter" });

    await w.client.leases.heartbeat.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), progress: { fraction: 0.5 }, logs: ["three"] }] });
    expect((await t.admin.jobs.get.query({ id: id! })).progress).toEqual({ fraction: 0.5, message: null });

    // A heartbeat without progress leaves the last progress alone.
    await w.client.leases.heartbeat.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    expect((await t.admin.jobs.get.query({ id: id! })).progress).toEqual({ fraction: 0.5, message: null });

    const logs = await t.admin.jobs.logs.query({ id: id! });
    expect(logs.map((l) => l.line)).toEqual(["one", "two", "three"]);
    expect(logs.every((l) => l.attempt === 1)).toBe(true);
  });

  it("reports a stale lease as lost, and neither extends it nor records its progress or logs", async () => {
    await using t = await startTestCoordinator();
    const [id, doneId] = await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    const a = await t.worker();
    const b = await t.worker();
    const leases = await a.client.leases.acquire.mutate({ workerId: a.workerId, types: ["noop"], max: 2 });
    const lease = leases.find((l) => l.jobId === id)!;
    const doneLease = leases.find((l) => l.jobId === doneId)!;
    await a.client.leases.complete.mutate({ workerId: a.workerId, leases: [ref(doneLease)] });
    // A gives the job back and B takes it: A's lease is now stale.
    await a.client.leases.release.mutate({ workerId: a.workerId, leases: [ref(lease)] });
    const [leaseB] = await b.client.leases.acquire.mutate({ workerId: b.workerId, types: ["noop"] });
    expect(leaseB!.attempt).toBe(2);
    const before = await t.admin.jobs.get.query({ id: id! });

    const stale = [
      ref(lease), // released and re-leased
      { ...ref(leaseB!), leaseId: "not-the-lease-id" },
      { ...ref(leaseB!), attempt: 1 },
      ref(doneLease), // the job succeeded already
      { jobId: 999_999, attempt: 1, leaseId: "nope" }, // no such job
    ];
    const out = await a.client.leases.heartbeat.mutate({
      workerId: a.workerId,
      leases: stale.map((r) => ({ ...r, progress: { fraction: 0.9, message: "stale" }, logs: ["stale line"] })),
    });
    expect(out.extended).toEqual([]);
    expect(out.cancelled).toEqual([]);
    expect(out.lost).toEqual(stale);

    expect(await t.admin.jobs.get.query({ id: id! })).toEqual(before);
    expect(await t.admin.jobs.logs.query({ id: id! })).toEqual([]);
    expect((await t.admin.jobs.get.query({ id: doneId! })).progress).toEqual({ fraction: 1, message: null });
  });

  it("reports lost for a lease whose job expired and was requeued by the reaper", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop", leaseSeconds: 1 }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    await statusBecomes(t, id!, "queued");
    const out = await w.client.leases.heartbeat.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    expect(out).toEqual({ extended: [], lost: [ref(lease!)], cancelled: [] });
  });

  it("reports cancelled after jobs.cancel, and the cancelled lease can no longer complete", async () => {
    await using t = await startTestCoordinator();
    const [id, other] = await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    const w = await t.worker();
    const leases = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 2 });
    const cancelled = await t.admin.jobs.cancel.mutate({ id: id! });
    expect(cancelled.status).toBe("cancelled");

    const out = await w.client.leases.heartbeat.mutate({ workerId: w.workerId, leases: leases.map(ref) });
    expect(out.cancelled).toEqual([ref(leases.find((l) => l.jobId === id)!)]);
    expect(out.extended.map((e) => e.jobId)).toEqual([other]);
    expect(out.lost).toEqual([]);

    const f = await failureOf(w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(leases.find((l) => l.jobId === id)!)] }));
    expect(f).toMatchObject({ code: "LEASE_CONFLICT", httpStatus: 409 });
    expect((await t.admin.jobs.get.query({ id: id! })).status).toBe("cancelled");
  });
});
