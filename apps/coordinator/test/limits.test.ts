import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startTestCoordinator, type TestCoordinator } from "./helpers.ts";
import { failureOf, ref, submitAll } from "./support.ts";

type Worker = Awaited<ReturnType<TestCoordinator["worker"]>>;
const acquire = (w: Worker, max: number, waitMs = 0) => w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max, waitMs });

describe("queue concurrency limits", () => {
  it("caps a queue's leased jobs across workers; the cap changes at runtime and null lifts it", async () => {
    await using t = await startTestCoordinator();
    await submitAll(t, Array.from({ length: 10 }, () => ({ type: "noop", queue: "q" })));
    const info = await t.admin.queues.setConcurrency.mutate({ queue: "q", concurrency: 3 });
    expect(info).toMatchObject({ name: "q", concurrency: 3, groupConcurrency: null, counts: { queued: 10 } });
    const a = await t.worker();
    const b = await t.worker();
    const first = await acquire(a, 2);
    expect(first).toHaveLength(2);
    expect(await acquire(b, 5)).toHaveLength(1);
    expect(await acquire(b, 5)).toHaveLength(0);
    // A completion frees a slot and hands it straight back in the same round trip.
    const done = await a.client.leases.complete.mutate({ workerId: a.workerId, leases: [ref(first[0]!)], next: { types: ["noop"], max: 5 } });
    expect(done.next).toHaveLength(1);
    await t.admin.queues.setConcurrency.mutate({ queue: "q", concurrency: 5 });
    expect(await acquire(b, 5)).toHaveLength(2);
    await t.admin.queues.setConcurrency.mutate({ queue: "q", concurrency: null });
    expect(await acquire(b, 10)).toHaveLength(4);
    expect((await t.admin.queues.list.query()).find((q) => q.name === "q")).toMatchObject({ concurrency: null, counts: { leased: 9, succeeded: 1 } });
  });

  it("caps each group (e.g. each host) and keeps claim order among the groups with room", async () => {
    await using t = await startTestCoordinator();
    const ids = await submitAll(t, [
      ...["a", "a", "a", "b", "b", "c"].map((group) => ({ type: "noop", queue: "dl", group })),
      { type: "noop", queue: "dl" }, // no group: only the queue's cap applies
    ]);
    await t.admin.queues.setConcurrency.mutate({ queue: "dl", groupConcurrency: 1 });
    const w = await t.worker();
    const leases = await acquire(w, 10);
    expect(leases.map((l) => l.jobId)).toEqual([ids[0], ids[3], ids[5], ids[6]]);
    expect(await acquire(w, 10)).toHaveLength(0);
    // Finishing a's job lets the next a in, and only it.
    const done = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(leases[0]!)], next: { types: ["noop"], max: 10 } });
    expect(done.next.map((l) => l.jobId)).toEqual([ids[1]]);
    // Both caps at once: 4 are leased, so a cap of 4 lets nothing in; at 5, one more comes
    // in claim order (a's third, now that a may have 2) and b's second waits for room.
    await t.admin.queues.setConcurrency.mutate({ queue: "dl", concurrency: 4, groupConcurrency: 2 });
    expect(await acquire(w, 10)).toHaveLength(0);
    await t.admin.queues.setConcurrency.mutate({ queue: "dl", concurrency: 5 });
    expect((await acquire(w, 10)).map((l) => l.jobId)).toEqual([ids[2]]);
    await t.admin.queues.setConcurrency.mutate({ queue: "dl", concurrency: null });
    expect((await acquire(w, 10)).map((l) => l.jobId)).toEqual([ids[4]]);
    expect((await t.admin.jobs.get.query({ id: ids[0]! })).group).toBe("a");
  });

  it("a worker long-polling at a full queue gets the slot when another worker's job ends", async () => {
    await using t = await startTestCoordinator();
    await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    await t.admin.queues.setConcurrency.mutate({ queue: "noop", concurrency: 1 });
    const a = await t.worker();
    const b = await t.worker();
    const [held] = await acquire(a, 1);
    const waiting = acquire(b, 1, 20_000);
    await a.client.leases.complete.mutate({ workerId: a.workerId, leases: [ref(held!)] });
    expect(await waiting).toHaveLength(1);
  });

  it("limits survive a coordinator restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "drover-limits-"));
    try {
      {
        await using first = await startTestCoordinator({}, dir);
        await submitAll(first, [{ type: "noop" }, { type: "noop" }, { type: "noop" }]);
        await first.admin.queues.setConcurrency.mutate({ queue: "noop", concurrency: 2, groupConcurrency: 7 });
      }
      await using second = await startTestCoordinator({}, dir);
      expect((await second.admin.queues.list.query()).find((q) => q.name === "noop")).toMatchObject({ concurrency: 2, groupConcurrency: 7 });
      expect(await acquire(await second.worker(), 3)).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses bad limits naming the field, and needs the manage permission", async () => {
    await using t = await startTestCoordinator();
    expect(await failureOf(t.admin.queues.setConcurrency.mutate({ queue: "q", concurrency: 0 }))).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("concurrency") });
    expect(await failureOf(t.admin.queues.setConcurrency.mutate({ queue: "q", groupConcurrency: 1.5 }))).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("groupConcurrency") });
    const { token } = await t.admin.tokens.create.mutate({ name: "s", role: "submitter", user: "sam" });
    expect(await failureOf(t.client(token).queues.setConcurrency.mutate({ queue: "q", concurrency: 2 }))).toMatchObject({ code: "FORBIDDEN" });
  });
});

describe("ownership", () => {
  it("a submitter sees, cancels, retries and clears only their own jobs; an admin all; a reader sees all and changes nothing", async () => {
    await using t = await startTestCoordinator();
    const token = async (role: "submitter" | "reader", user: string) => t.client((await t.admin.tokens.create.mutate({ name: user, role, user })).token);
    const alice = await token("submitter", "alice");
    const bob = await token("submitter", "bob");
    const reader = await token("reader", "rita");
    const [a1, a2] = [(await alice.jobs.submit.mutate({ type: "noop", queue: "dl" })).id, (await alice.jobs.submit.mutate({ type: "noop", queue: "dl" })).id];
    const b1 = (await bob.jobs.submit.mutate({ type: "noop", queue: "dl" })).id;

    expect((await alice.jobs.list.query({})).jobs.map((j) => j.id).sort()).toEqual([a1, a2]);
    expect(await alice.jobs.counts.query({})).toEqual([{ type: "noop", status: "queued", count: 2 }]);
    expect((await failureOf(alice.jobs.get.query({ id: b1 })))).toMatchObject({ code: "NOT_FOUND" });
    expect((await failureOf(alice.jobs.events.query({ id: b1 })))).toMatchObject({ code: "NOT_FOUND" });
    expect((await failureOf(alice.jobs.cancel.mutate({ id: b1 })))).toMatchObject({ code: "NOT_FOUND" });
    expect((await t.admin.jobs.get.query({ id: b1 })).status).toBe("queued");

    expect((await reader.jobs.list.query({})).jobs).toHaveLength(3);
    expect((await failureOf(reader.jobs.cancel.mutate({ id: a1 })))).toMatchObject({ code: "FORBIDDEN" });
    expect((await failureOf(reader.queues.clear.mutate({ queue: "dl" })))).toMatchObject({ code: "FORBIDDEN" });

    expect(await bob.queues.stats.query({ queue: "dl", user: "alice" })).toMatchObject({ user: "bob", counts: { queued: 1 } });
    expect(await t.admin.queues.stats.query({ queue: "dl", user: "alice" })).toMatchObject({ user: "alice", counts: { queued: 2 } });

    await alice.jobs.cancel.mutate({ id: a1 });
    expect((await failureOf(bob.jobs.retry.mutate({ id: a1 })))).toMatchObject({ code: "NOT_FOUND" });
    expect((await alice.jobs.retry.mutate({ id: a1 })).status).toBe("queued");
    // Alice's clear takes her two queued jobs and leaves Bob's.
    expect(await alice.queues.clear.mutate({ queue: "dl" })).toEqual({ cancelled: 2 });
    expect((await t.admin.jobs.get.query({ id: b1 })).status).toBe("queued");
    expect(await t.admin.queues.clear.mutate({ queue: "dl" })).toEqual({ cancelled: 1 });
  });
});
