import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";
import { eventKinds, ref, submitAll } from "./support.ts";

describe("leases.release and workers.bye", () => {
  it("release puts a leased job back to queued at once, runnable immediately by another worker", async () => {
    await using t = await startTestCoordinator({ retryBaseMs: 60_000 });
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const a = await t.worker();
    const b = await t.worker();
    const [lease] = await a.client.leases.acquire.mutate({ workerId: a.workerId, types: ["noop"] });
    const before = Date.now();
    expect(await a.client.leases.release.mutate({ workerId: a.workerId, leases: [ref(lease!)] })).toEqual({ released: 1 });

    const job = await t.admin.jobs.get.query({ id: id! });
    expect(job).toMatchObject({ status: "queued", workerId: null, leaseExpiresAt: null });
    expect(job.runAfter).toBeLessThanOrEqual(Date.now());
    expect(job.runAfter).toBeGreaterThanOrEqual(before - 1000);
    // No backoff (retryBaseMs is a minute here): B gets it with a plain, non-waiting acquire.
    const [again] = await b.client.leases.acquire.mutate({ workerId: b.workerId, types: ["noop"] });
    expect(again).toMatchObject({ jobId: id, attempt: 2 });
    expect(await eventKinds(t, id!)).toEqual(["submitted", "leased", "released", "leased"]);
  });

  it("release wakes a worker long-polling for that type", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const a = await t.worker();
    const b = await t.worker();
    const [lease] = await a.client.leases.acquire.mutate({ workerId: a.workerId, types: ["noop"] });
    const waiting = b.client.leases.acquire.mutate({ workerId: b.workerId, types: ["noop"], waitMs: 30_000 });
    await a.client.leases.release.mutate({ workerId: a.workerId, leases: [ref(lease!)] });
    expect((await waiting).map((l) => l.jobId)).toEqual([id]);
  });

  it("releasing a stale lease releases nothing", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const out = await w.client.leases.release.mutate({
      workerId: w.workerId,
      leases: [{ ...ref(lease!), leaseId: "other" }, { ...ref(lease!), attempt: 3 }, { jobId: 777_777, attempt: 1, leaseId: "x" }],
    });
    expect(out).toEqual({ released: 0 });
    expect((await t.admin.jobs.get.query({ id: id! })).status).toBe("leased");
    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(lease!)] });
    expect(await w.client.leases.release.mutate({ workerId: w.workerId, leases: [ref(lease!)] })).toEqual({ released: 0 });
    expect((await t.admin.jobs.get.query({ id: id! })).status).toBe("succeeded");
  });

  it("workers.bye releases every lease of that worker at once and shows it gone in workers.list", async () => {
    await using t = await startTestCoordinator({ retryBaseMs: 60_000 });
    const ids = await submitAll(t, [{ type: "noop" }, { type: "noop" }, { type: "noop" }, { type: "noop" }]);
    const leaving = await t.worker();
    const staying = await t.worker();
    const mine = await leaving.client.leases.acquire.mutate({ workerId: leaving.workerId, types: ["noop"], max: 3 });
    const theirs = await staying.client.leases.acquire.mutate({ workerId: staying.workerId, types: ["noop"], max: 3 });
    expect(mine).toHaveLength(3);
    expect(theirs.map((l) => l.jobId)).toEqual([ids[3]]);

    let list = await t.admin.workers.list.query();
    expect(list.find((w) => w.id === leaving.workerId)).toMatchObject({ status: "active", activeLeases: 3 });

    expect(await leaving.client.workers.bye.mutate({ workerId: leaving.workerId })).toEqual({ released: 3 });
    for (const lease of mine) {
      expect(await t.admin.jobs.get.query({ id: lease.jobId })).toMatchObject({ status: "queued", workerId: null });
      expect(await eventKinds(t, lease.jobId)).toEqual(["submitted", "leased", "released"]);
    }
    expect((await t.admin.jobs.get.query({ id: ids[3]! })).status).toBe("leased");

    list = await t.admin.workers.list.query();
    expect(list.find((w) => w.id === leaving.workerId)).toMatchObject({ status: "gone", activeLeases: 0 });
    expect(list.find((w) => w.id === staying.workerId)).toMatchObject({ status: "active", activeLeases: 1 });

    // Runnable at once, without backoff.
    const next = await staying.client.leases.acquire.mutate({ workerId: staying.workerId, types: ["noop"], max: 10 });
    expect(next.map((l) => l.jobId).sort()).toEqual(mine.map((l) => l.jobId).sort());
  });
});
