import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";
import { failureOf, ref, sleep, submitAll } from "./support.ts";

describe("queues", () => {
  it("pause: acquire gets nothing from a paused queue, while already leased jobs still heartbeat and complete", async () => {
    await using t = await startTestCoordinator();
    const [running] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const waiting = await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    const [otherQueue] = await submitAll(t, [{ type: "noop", queue: "elsewhere" }]);

    const info = await t.admin.queues.pause.mutate({ queue: "noop" });
    expect(info).toMatchObject({ name: "noop", paused: true, pausedUntil: null, counts: { queued: 2, leased: 1 } });
    // The pause acts on the queue, not the type: the other queue of noop jobs still flows.
    const got = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 10 });
    expect(got.map((l) => l.jobId)).toEqual([otherQueue]);
    expect(await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 10, waitMs: 300 })).toEqual([]);
    // Submitting to a paused queue is fine; the job waits.
    const [late] = await submitAll(t, [{ type: "noop" }]);
    expect(await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 10 })).toEqual([]);

    expect((await w.client.leases.heartbeat.mutate({ workerId: w.workerId, leases: [ref(lease!)] })).extended).toHaveLength(1);
    const done = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(lease!)], next: { types: ["noop"], max: 5 } });
    expect(done.results[0]!.outcome).toBe("ok");
    expect(done.next).toEqual([]); // nor does a completion's `next` claim from the paused queue
    expect((await t.admin.jobs.get.query({ id: running! })).status).toBe("succeeded");
    const listed = (await t.admin.queues.list.query()).find((q) => q.name === "noop");
    expect(listed).toMatchObject({ paused: true, counts: { queued: 3, succeeded: 1, leased: 0 } });
    for (const id of [...waiting, late]) expect((await t.admin.jobs.get.query({ id: id! })).status).toBe("queued");
  });

  it("resume: jobs flow again, and a worker long-polling through the pause is woken", async () => {
    await using t = await startTestCoordinator();
    await t.admin.queues.pause.mutate({ queue: "noop" });
    const ids = await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    const w = await t.worker();
    const polling = w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 10, waitMs: 30_000 });
    await sleep(200);
    const info = await t.admin.queues.resume.mutate({ queue: "noop" });
    expect(info).toMatchObject({ name: "noop", paused: false, pausedUntil: null });
    expect((await polling).map((l) => l.jobId)).toEqual(ids);
  });

  it("a timed pause (seconds: 1) resumes by itself", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const before = Date.now();
    const info = await t.admin.queues.pause.mutate({ queue: "noop", seconds: 1 });
    expect(info.paused).toBe(true);
    expect(info.pausedUntil).toBeGreaterThanOrEqual(before + 1000);
    expect(info.pausedUntil).toBeLessThanOrEqual(Date.now() + 1000);
    const w = await t.worker();
    expect(await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] })).toEqual([]);

    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], waitMs: 30_000 });
    expect(lease!.jobId).toBe(id);
    const leased = (await t.admin.jobs.events.query({ id: id! })).find((e) => e.kind === "leased")!;
    expect(leased.at).toBeGreaterThanOrEqual(info.pausedUntil!);
    expect((await t.admin.queues.list.query()).find((q) => q.name === "noop")).toMatchObject({ paused: false, pausedUntil: null });
  });

  it("pausing a queue with no jobs yet is allowed and listed; a later resume unpauses it", async () => {
    await using t = await startTestCoordinator();
    await t.admin.queues.pause.mutate({ queue: "future", seconds: 3600 });
    const listed = await t.admin.queues.list.query();
    expect(listed).toEqual([{ name: "future", paused: true, concurrency: null, groupConcurrency: null, pausedUntil: expect.any(Number), counts: { queued: 0, leased: 0, succeeded: 0, failed: 0, cancelled: 0 } }]);
    expect((await t.admin.system.status.query()).queues).toEqual({ total: 1, paused: 1 });
    await t.admin.queues.resume.mutate({ queue: "future" });
    expect((await t.admin.queues.list.query()).filter((q) => q.paused)).toEqual([]);
    expect((await t.admin.system.status.query()).queues.paused).toBe(0);
  });

  it("clear cancels only the queue's queued jobs; leased ones run on and complete", async () => {
    await using t = await startTestCoordinator();
    const [leasedId] = await submitAll(t, [{ type: "noop", priority: 9 }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const queued = await submitAll(t, [{ type: "noop" }, { type: "noop" }, { type: "noop" }]);
    const [elsewhere] = await submitAll(t, [{ type: "noop", queue: "keep" }]);

    expect(await t.admin.queues.clear.mutate({ queue: "noop" })).toEqual({ cancelled: 3 });
    for (const id of queued) expect((await t.admin.jobs.get.query({ id })).status).toBe("cancelled");
    expect((await t.admin.jobs.get.query({ id: elsewhere! })).status).toBe("queued");
    expect((await t.admin.jobs.get.query({ id: leasedId! })).status).toBe("leased");
    expect((await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(lease!)] })).results[0]!.outcome).toBe("ok");
    expect(await t.admin.queues.clear.mutate({ queue: "noop" })).toEqual({ cancelled: 0 });
    // Cleared jobs are never handed out.
    expect((await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 10 })).map((l) => l.jobId)).toEqual([elsewhere]);
  });

  it("stats: counts per status, and what jobs reported over the last 1/10/60 minutes", async () => {
    await using t = await startTestCoordinator();
    await submitAll(t, Array.from({ length: 8 }, () => ({ type: "noop" })));
    const w = await t.worker();
    const leases = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 7 });
    await w.client.leases.complete.mutate({
      workerId: w.workerId,
      leases: leases.slice(0, 5).map((l, i) => ({ ...ref(l), counts: { bytes: 100 * (i + 1), "http.200": 1, pages: 2 } })),
    });
    await w.client.leases.fail.mutate({ workerId: w.workerId, leases: [{ ...ref(leases[5]!), error: { message: "x" }, retryable: false, counts: { "http.404": 1 } }] });
    await w.client.leases.fail.mutate({ workerId: w.workerId, leases: [{ ...ref(leases[6]!), error: { message: "x" }, retryable: true, counts: { "http.503": 1 } }] });
    const [, cancel] = await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    await t.admin.jobs.cancel.mutate({ id: cancel! });

    const stats = await t.admin.queues.stats.query({ queue: "noop" });
    expect(stats).toMatchObject({
      name: "noop",
      paused: false,
      counts: { queued: 3, leased: 0, succeeded: 5, failed: 1, cancelled: 1 },
      user: null,
    });
    for (const [key, minutes] of [["m1", 1], ["m10", 10], ["m60", 60]] as const) {
      expect(stats.windows[key]).toEqual({
        minutes,
        succeeded: 5,
        failed: 1,
        retried: 1,
        bytes: 1500,
        http: { "200": 5, "404": 1, "503": 1 },
        counts: { pages: 10 },
        jobsPerSecond: 6 / (minutes * 60),
        bytesPerSecond: 1500 / (minutes * 60),
      });
    }
    // A repeated settle counts nothing again.
    const again = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ ...ref(leases[0]!), counts: { bytes: 1 } }] });
    expect(again.results[0]).toMatchObject({ outcome: "repeat" });
    expect((await t.admin.queues.stats.query({ queue: "noop" })).windows.m1.bytes).toBe(1500);
    expect(await failureOf(t.admin.queues.stats.query({ queue: "never-seen" }))).toMatchObject({ code: "NOT_FOUND", httpStatus: 404 });
  });
});
