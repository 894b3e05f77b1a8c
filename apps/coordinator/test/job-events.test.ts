import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";
import { ref, submitAll } from "./support.ts";

/** [kind, attempt, workerId] of each event: the part of the log a test can predict. */
const brief = (events: { kind: string; attempt: number; workerId: string | null }[]) => events.map((e) => [e.kind, e.attempt, e.workerId] as const);

describe("job_events: every state change appends an event", () => {
  it("submitted → leased → succeeded", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    const events = await t.admin.jobs.events.query({ id: id! });
    expect(brief(events)).toEqual([
      ["submitted", 0, null],
      ["leased", 1, w.workerId],
      ["succeeded", 1, w.workerId],
    ]);
    expect(events[0]!.data).toEqual({ by: "admin" });
    expect(events.every((e) => e.jobId === id)).toBe(true);
    // Ids and times never go backwards.
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.id).toBeGreaterThan(events[i - 1]!.id);
      expect(events[i]!.at).toBeGreaterThanOrEqual(events[i - 1]!.at);
    }
  });

  it("leased → retry_scheduled → leased → failed (retryable fails up to maxAttempts)", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop", maxAttempts: 2 }]);
    const w = await t.worker();
    for (const message of ["first", "second"]) {
      const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], waitMs: 30_000 });
      await w.client.leases.fail.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), error: { message } }] });
    }
    const events = await t.admin.jobs.events.query({ id: id! });
    expect(brief(events)).toEqual([
      ["submitted", 0, null],
      ["leased", 1, w.workerId],
      ["retry_scheduled", 1, w.workerId],
      ["leased", 2, w.workerId],
      ["failed", 2, w.workerId],
    ]);
    expect(events[2]!.data).toMatchObject({ error: { message: "first" } });
    expect(events[4]!.data).toMatchObject({ message: "second" });
  });

  it("leased → expired → leased (the reaper)", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop", leaseSeconds: 1 }]);
    const a = await t.worker();
    const b = await t.worker();
    await a.client.leases.acquire.mutate({ workerId: a.workerId, types: ["noop"] });
    await b.client.leases.acquire.mutate({ workerId: b.workerId, types: ["noop"], waitMs: 30_000 });
    expect(brief(await t.admin.jobs.events.query({ id: id! }))).toEqual([
      ["submitted", 0, null],
      ["leased", 1, a.workerId],
      ["expired", 1, a.workerId],
      ["leased", 2, b.workerId],
    ]);
  });

  it("leased → released → leased → cancelled → retried → leased → succeeded", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    let [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    await w.client.leases.release.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    await t.admin.jobs.cancel.mutate({ id: id! });
    await t.admin.jobs.retry.mutate({ id: id! });
    [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    // The attempt keeps counting across a retry (it is the fencing token): the third lease is attempt 3.
    expect(lease!.attempt).toBe(3);
    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(lease!)] });

    const events = await t.admin.jobs.events.query({ id: id! });
    expect(brief(events)).toEqual([
      ["submitted", 0, null],
      ["leased", 1, w.workerId],
      ["released", 1, w.workerId],
      ["leased", 2, w.workerId],
      ["cancelled", 2, w.workerId],
      ["retried", 2, null],
      ["leased", 3, w.workerId],
      ["succeeded", 3, w.workerId],
    ]);
    expect(events[4]!.data).toEqual({ by: "admin" });
    expect(events[5]!.data).toMatchObject({ by: "admin" });
  });

  it("cancelled (queued job) and cancelled by queues.clear", async () => {
    await using t = await startTestCoordinator();
    const [a, b] = await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    await t.admin.jobs.cancel.mutate({ id: a! });
    await t.admin.queues.clear.mutate({ queue: "noop" });
    const ea = await t.admin.jobs.events.query({ id: a! });
    const eb = await t.admin.jobs.events.query({ id: b! });
    expect(brief(ea)).toEqual([
      ["submitted", 0, null],
      ["cancelled", 0, null],
    ]);
    expect(brief(eb)).toEqual([
      ["submitted", 0, null],
      ["cancelled", 0, null],
    ]);
    expect(eb[1]!.data).toMatchObject({ reason: "queue cleared" });
  });

  it("calls that change nothing append nothing: repeats, conflicts, refused cancels and retries, deduplicated submits", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop", idempotencyKey: "once" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    const events = await t.admin.jobs.events.query({ id: id! });

    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(lease!), { ...ref(lease!), leaseId: "x" }] });
    await w.client.leases.heartbeat.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    await w.client.leases.release.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    await expect(t.admin.jobs.cancel.mutate({ id: id! })).rejects.toThrow();
    await expect(t.admin.jobs.retry.mutate({ id: id! })).rejects.toThrow();
    await t.admin.jobs.submit.mutate({ type: "noop", idempotencyKey: "once" });
    expect(await t.admin.jobs.events.query({ id: id! })).toEqual(events);
  });
});
