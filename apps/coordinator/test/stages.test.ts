import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";
import { eventKinds, failureOf, ref, submitAll } from "./support.ts";

describe("stages: follow-up jobs spawned by a completion", () => {
  it("inserts the spawned jobs with the success, owned like their parent and pointing at it", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop", payload: { sleepMs: 1 } }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const out = await w.client.leases.complete.mutate({
      workerId: w.workerId,
      leases: [{ ...ref(lease!), result: { ok: 1 }, spawn: [{ type: "noop", payload: { sleepMs: 2 }, queue: "second" }, { type: "noop", payload: { sleepMs: 3 } }] }],
    });
    expect(out.results[0]).toMatchObject({ outcome: "ok", status: "succeeded" });
    const { jobs } = await t.admin.jobs.list.query({ limit: 10 });
    const children = jobs.filter((j) => j.parentId === id);
    expect(children.map((c) => c.payload)).toEqual([{ sleepMs: 3 }, { sleepMs: 2 }]);
    expect(children.every((c) => c.status === "queued" && c.createdBy === jobs.find((j) => j.id === id)!.createdBy)).toBe(true);
    expect(children.map((c) => c.queue).sort()).toEqual(["noop", "second"]);
    // The new jobs are leasable at once (the wake-up and the in-memory queue index know them).
    const next = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 5 });
    expect(next.map((l) => l.jobId).sort()).toEqual(children.map((c) => c.id).sort());
  });

  it("a stale or repeated completion spawns nothing", async () => {
    await using t = await startTestCoordinator();
    await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const spawn = [{ type: "noop", payload: { sleepMs: 5 } }];
    const stale = await failureOf(w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), attempt: 9, spawn }] }));
    expect(stale.code).toBe("LEASE_CONFLICT");
    expect((await t.admin.jobs.list.query({})).jobs).toHaveLength(1);
    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), spawn }] });
    const again = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), spawn }] });
    expect(again.results[0]!.outcome).toBe("repeat");
    expect((await t.admin.jobs.list.query({})).jobs).toHaveLength(2);
  });

  it("a completion whose spawn is invalid is refused whole and changes nothing", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const f = await failureOf(w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), spawn: [{ type: "no.such.type" }] }] }));
    expect(f).toMatchObject({ code: "UNKNOWN_JOB_TYPE", httpStatus: 400 });
    expect(f.message).toContain("leases.0.spawn.0");
    expect((await t.admin.jobs.get.query({ id: id! })).status).toBe("leased");
    expect((await t.admin.jobs.list.query({})).jobs).toHaveLength(1);
  });
});

describe("stages: a later stage sends its input back (requeueTo parent)", () => {
  it("fails the child for good and reopens the parent in one transaction", async () => {
    await using t = await startTestCoordinator();
    const [parent] = await submitAll(t, [{ type: "noop", payload: { sleepMs: 10 } }]);
    const w = await t.worker();
    const [pl] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...ref(pl!), spawn: [{ type: "noop", payload: { sleepMs: 20 } }] }] });
    const [cl] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    expect(cl!.payload).toEqual({ sleepMs: 20 });
    const out = await w.client.leases.fail.mutate({ workerId: w.workerId, leases: [{ ...ref(cl!), error: { message: "invalid download" }, retryable: true, requeueTo: "parent" }] });
    expect(out.results[0]).toMatchObject({ outcome: "ok", status: "failed" });
    expect((await t.admin.jobs.get.query({ id: cl!.jobId })).status).toBe("failed");
    const reopened = await t.admin.jobs.get.query({ id: parent! });
    expect(reopened).toMatchObject({ status: "queued", finishedAt: null });
    expect(reopened.result ?? null).toBeNull();
    expect(await eventKinds(t, parent!)).toEqual(["submitted", "leased", "succeeded", "reopened"]);
    // The reopened parent runs again with a new attempt (the fencing token keeps counting).
    const [again] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    expect(again).toMatchObject({ jobId: parent, attempt: 2 });
  });

  it("refuses requeueTo on a job that has no parent, changing nothing", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const f = await failureOf(w.client.leases.fail.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), error: { message: "x" }, retryable: true, requeueTo: "parent" }] }));
    expect(f).toMatchObject({ code: "INVALID_STATE", httpStatus: 409 });
    expect((await t.admin.jobs.get.query({ id: id! })).status).toBe("leased");
  });
});

describe("counters and the leaderboard", () => {
  it("adds reported counts per worker name and type, once per success", async () => {
    await using t = await startTestCoordinator();
    await submitAll(t, [{ type: "noop" }, { type: "noop" }, { type: "noop" }]);
    const alice = await t.worker(["noop"], "alice");
    const bob = await t.worker(["noop"], "bob");
    const [a1, a2] = await alice.client.leases.acquire.mutate({ workerId: alice.workerId, types: ["noop"], max: 2 });
    const [b1] = await bob.client.leases.acquire.mutate({ workerId: bob.workerId, types: ["noop"], max: 1 });
    await alice.client.leases.complete.mutate({ workerId: alice.workerId, leases: [{ ...ref(a1!), counts: { pairs: 100 } }, { ...ref(a2!), counts: { pairs: 50, images: 7 } }] });
    await bob.client.leases.complete.mutate({ workerId: bob.workerId, leases: [{ ...ref(b1!), counts: { pairs: 500 } }] });
    // A repeat and a stale completion count nothing.
    await alice.client.leases.complete.mutate({ workerId: alice.workerId, leases: [{ ...ref(a1!), counts: { pairs: 100 } }] });
    await failureOf(bob.client.leases.complete.mutate({ workerId: bob.workerId, leases: [{ ...ref(b1!), attempt: 5, counts: { pairs: 1 } }] }));

    expect(await t.admin.workers.leaderboard.query({})).toEqual([
      { name: "alice", jobs: 2, counts: { pairs: 150, images: 7 } },
      { name: "bob", jobs: 1, counts: { pairs: 500 } },
    ]);
    expect((await t.admin.workers.leaderboard.query({ by: "pairs" })).map((r) => r.name)).toEqual(["bob", "alice"]);
    expect(await t.admin.workers.leaderboard.query({ type: "other" })).toEqual([]);
    expect(await t.admin.workers.countersByType.query()).toEqual([{ type: "noop", jobs: 3, counts: { pairs: 650, images: 7 } }]);
  });
});

describe("jobs.allocateIds", () => {
  it("hands out consecutive ranges that never overlap, per sequence", async () => {
    await using t = await startTestCoordinator();
    const results = await Promise.all(Array.from({ length: 20 }, () => t.admin.jobs.allocateIds.mutate({ sequence: "crawl.samples", count: 1000 })));
    const sorted = results.map((r) => [r.start, r.end] as const).sort((a, b) => a[0] - b[0]);
    sorted.forEach(([start, end], i) => expect([start, end]).toEqual([i * 1000, i * 1000 + 1000]));
    expect(await t.admin.jobs.allocateIds.mutate({ sequence: "other", count: 5 })).toEqual({ start: 0, end: 5 });
    expect(await t.admin.jobs.allocateIds.mutate({ sequence: "crawl.samples", count: 1 })).toEqual({ start: 20_000, end: 20_001 });
  });
});
