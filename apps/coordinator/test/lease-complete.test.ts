import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";
import { eventKinds, failureOf, ref, submitAll } from "./support.ts";

describe("leases.complete", () => {
  it("completes from the current lease: job succeeded with its result, progress 1, lease cleared", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const out = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), result: { ok: true, n: 3 } }] });
    expect(out).toEqual({ results: [{ jobId: id, outcome: "ok", status: "succeeded" }], next: [] });
    const job = await t.admin.jobs.get.query({ id: id! });
    expect(job).toMatchObject({ status: "succeeded", result: { ok: true, n: 3 }, error: null, attempts: 1, leaseExpiresAt: null, progress: { fraction: 1 } });
    expect(job.finishedAt).not.toBeNull();
  });

  it("repeating the same complete is idempotent: outcome repeat, nothing changes", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), result: { first: true } }] });
    const job = await t.admin.jobs.get.query({ id: id! });
    const events = await t.admin.jobs.events.query({ id: id! });

    // The retry of a completion whose answer was lost: even with another result, the first one stands.
    const again = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), result: { second: true } }] });
    expect(again.results).toEqual([{ jobId: id, outcome: "repeat", status: "succeeded" }]);
    expect(await t.admin.jobs.get.query({ id: id! })).toEqual(job);
    expect(await t.admin.jobs.events.query({ id: id! })).toEqual(events);
  });

  it("a stale complete (wrong leaseId or wrong attempt) gets LEASE_CONFLICT 409 and changes nothing", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const job = await t.admin.jobs.get.query({ id: id! });
    const events = await t.admin.jobs.events.query({ id: id! });

    for (const stale of [
      { ...ref(lease!), leaseId: "someone-else" },
      { ...ref(lease!), attempt: 2 },
      { jobId: 424_242, attempt: 1, leaseId: lease!.leaseId },
    ]) {
      const f = await failureOf(w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...stale, result: { stale: true } }] }));
      expect(f).toMatchObject({ code: "LEASE_CONFLICT", httpStatus: 409 });
    }
    expect(await t.admin.jobs.get.query({ id: id! })).toEqual(job);
    expect(await t.admin.jobs.events.query({ id: id! })).toEqual(events);
  });

  it("a complete from a lease that expired and was re-leased by another worker gets LEASE_CONFLICT and changes nothing", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop", leaseSeconds: 1 }]);
    const a = await t.worker();
    const b = await t.worker();
    const [leaseA] = await a.client.leases.acquire.mutate({ workerId: a.workerId, types: ["noop"] });
    const [leaseB] = await b.client.leases.acquire.mutate({ workerId: b.workerId, types: ["noop"], waitMs: 30_000 });
    expect(leaseB).toMatchObject({ jobId: id, attempt: 2 });
    const job = await t.admin.jobs.get.query({ id: id! });
    const events = await t.admin.jobs.events.query({ id: id! });

    const f = await failureOf(a.client.leases.complete.mutate({ workerId: a.workerId, leases: [{ ...ref(leaseA!), result: { from: "A" } }] }));
    expect(f).toMatchObject({ code: "LEASE_CONFLICT", httpStatus: 409 });
    // The job stays with B's lease.
    expect(await t.admin.jobs.get.query({ id: id! })).toEqual(job);
    expect(job).toMatchObject({ status: "leased", workerId: b.workerId, attempts: 2 });
    expect(await t.admin.jobs.events.query({ id: id! })).toEqual(events);
  });

  it("in a batch, a stale item is reported with outcome conflict while the others apply", async () => {
    await using t = await startTestCoordinator();
    const ids = await submitAll(t, [{ type: "noop" }, { type: "noop" }, { type: "noop" }]);
    const w = await t.worker();
    const leases = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 3 });
    expect(leases.map((l) => l.jobId)).toEqual(ids);
    const [l0, l1, l2] = leases;

    const out = await w.client.leases.complete.mutate({
      workerId: w.workerId,
      leases: [
        { ...ref(l0!), result: { i: 0 } },
        { ...ref(l1!), leaseId: "stale", result: { i: 1 } },
        { ...ref(l2!), result: { i: 2 } },
      ],
    });
    expect(out.results.map((r) => r.outcome)).toEqual(["ok", "conflict", "ok"]);
    expect(out.results[1]).toMatchObject({ jobId: l1!.jobId, status: "leased" });
    expect(out.results[1]!.message).toContain(`job ${l1!.jobId}`);
    expect((await t.admin.jobs.get.query({ id: l0!.jobId })).result).toEqual({ i: 0 });
    expect((await t.admin.jobs.get.query({ id: l2!.jobId })).result).toEqual({ i: 2 });
    const untouched = await t.admin.jobs.get.query({ id: l1!.jobId });
    expect(untouched.status).toBe("leased");
    expect(untouched.result).toBeUndefined();
    expect(await eventKinds(t, l1!.jobId)).toEqual(["submitted", "leased"]);

    // A batch mixing a repeat with a fresh completion: the repeat changes nothing, the fresh one applies.
    const mixed = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(l0!), ref(l1!)] });
    expect(mixed.results.map((r) => r.outcome)).toEqual(["repeat", "ok"]);
  });

  it("refuses a result over 1 MB of JSON with PAYLOAD_TOO_LARGE and keeps the lease", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const f = await failureOf(w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), result: { blob: "x".repeat(1_000_001) } }] }));
    expect(f).toMatchObject({ code: "PAYLOAD_TOO_LARGE", httpStatus: 413 });
    expect(f.message).toContain("leases.0.result");
    expect((await t.admin.jobs.get.query({ id: id! })).status).toBe("leased");
    const ok = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    expect(ok.results[0]!.outcome).toBe("ok");
  });

  it("complete with next {types, max} returns the next leases in the same call", async () => {
    await using t = await startTestCoordinator();
    const ids = await submitAll(t, [{ type: "noop", priority: 9 }, { type: "noop" }, { type: "noop" }, { type: "noop" }]);
    const w = await t.worker();
    const [first] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    expect(first!.jobId).toBe(ids[0]);

    const out = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(first!)], next: { types: ["noop"], max: 2 } });
    expect(out.results[0]!.outcome).toBe("ok");
    expect(out.next.map((l) => l.jobId)).toEqual([ids[1], ids[2]]);
    for (const lease of out.next) {
      expect(lease.attempt).toBe(1);
      const job = await t.admin.jobs.get.query({ id: lease.jobId });
      expect(job).toMatchObject({ status: "leased", workerId: w.workerId, leaseExpiresAt: lease.expiresAt });
    }

    // The same works for fail, and a next with nothing left returns [].
    const failed = await w.client.leases.fail.mutate({
      workerId: w.workerId,
      leases: [{ ...ref(out.next[0]!), error: { message: "no" }, retryable: false }],
      next: { types: ["noop"], max: 5 },
    });
    expect(failed.next.map((l) => l.jobId)).toEqual([ids[3]]);
    const last = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(failed.next[0]!)], next: { types: ["noop"], max: 5 } });
    expect(last.next).toEqual([]);
  });

  it("a stale single complete that carries next claims nothing", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const f = await failureOf(w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), attempt: 7 }], next: { types: ["noop"], max: 5 } }));
    expect(f.code).toBe("LEASE_CONFLICT");
    // The conflict rolled back the whole call: the other job is still queued.
    expect((await t.admin.jobs.counts.query({ type: "noop" })).find((c) => c.status === "queued")?.count).toBe(1);
    expect(await t.admin.jobs.get.query({ id: id! })).toMatchObject({ status: "leased", workerId: w.workerId });
  });
});
