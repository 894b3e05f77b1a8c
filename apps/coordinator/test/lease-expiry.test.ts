import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";
import { eventKinds, failureOf, ref, statusBecomes, submitAll } from "./support.ts";

describe("expired leases and the reaper", () => {
  it("expired-lease race: A's lease expires and B re-leases; A's complete conflicts, B's wins, one succeeded event", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop", leaseSeconds: 1, maxAttempts: 3 }]);
    const a = await t.worker();
    const b = await t.worker();
    const [leaseA] = await a.client.leases.acquire.mutate({ workerId: a.workerId, types: ["noop"] });
    expect(leaseA!.attempt).toBe(1);
    // A never heartbeats. B long-polls until the reaper has requeued the job.
    const [leaseB] = await b.client.leases.acquire.mutate({ workerId: b.workerId, types: ["noop"], waitMs: 30_000 });
    expect(leaseB).toMatchObject({ jobId: id, attempt: 2 });
    expect(leaseB!.leaseId).not.toBe(leaseA!.leaseId);

    const fromA = await failureOf(a.client.leases.complete.mutate({ workerId: a.workerId, leases: [{ ...ref(leaseA!), result: { by: "A" } }] }));
    expect(fromA).toMatchObject({ code: "LEASE_CONFLICT", httpStatus: 409 });
    const fromB = await b.client.leases.complete.mutate({ workerId: b.workerId, leases: [{ ...ref(leaseB!), result: { by: "B" } }] });
    expect(fromB.results[0]!.outcome).toBe("ok");
    // A retrying after B won is still a conflict, and B's result stands.
    expect((await failureOf(a.client.leases.complete.mutate({ workerId: a.workerId, leases: [ref(leaseA!)] }))).code).toBe("LEASE_CONFLICT");

    const job = await t.admin.jobs.get.query({ id: id! });
    expect(job).toMatchObject({ status: "succeeded", result: { by: "B" }, attempts: 2, workerId: b.workerId });
    const events = await t.admin.jobs.events.query({ id: id! });
    expect(events.map((e) => e.kind)).toEqual(["submitted", "leased", "expired", "leased", "succeeded"]);
    expect(events.filter((e) => e.kind === "succeeded")).toMatchObject([{ attempt: 2, workerId: b.workerId }]);
    expect(events[2]).toMatchObject({ kind: "expired", attempt: 1, workerId: a.workerId, data: { error: { code: "LEASE_EXPIRED" } } });
  });

  it("the reaper requeues an expired lease with backoff, keeping the expiry as the job's error", async () => {
    await using t = await startTestCoordinator({ retryBaseMs: 60_000, retryMaxMs: 120_000 });
    const [id] = await submitAll(t, [{ type: "noop", leaseSeconds: 1, maxAttempts: 2 }]);
    const w = await t.worker();
    await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const job = await statusBecomes(t, id!, "queued");
    expect(job).toMatchObject({ attempts: 1, workerId: null, leaseExpiresAt: null, error: { code: "LEASE_EXPIRED", retryable: true } });
    const expired = (await t.admin.jobs.events.query({ id: id! })).at(-1)!;
    expect(expired.kind).toBe("expired");
    expect(job.runAfter).toBeGreaterThanOrEqual(expired.at + 30_000);
    expect(await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] })).toEqual([]);
  });

  it("an expiry after maxAttempts fails the job with error code LEASE_EXPIRED", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop", leaseSeconds: 1, maxAttempts: 2 }]);
    const w = await t.worker();
    const [first] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const [second] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], waitMs: 30_000 });
    expect([first!.attempt, second!.attempt]).toEqual([1, 2]);

    const job = await statusBecomes(t, id!, "failed");
    expect(job).toMatchObject({ attempts: 2, error: { code: "LEASE_EXPIRED", retryable: true }, leaseExpiresAt: null });
    expect(job.error!.message).toContain("attempt 2 of 2");
    expect(job.finishedAt).not.toBeNull();
    expect(await eventKinds(t, id!)).toEqual(["submitted", "leased", "expired", "leased", "failed"]);
    // The last lease's complete arrives too late.
    expect((await failureOf(w.client.leases.complete.mutate({ workerId: w.workerId, leases: [ref(second!)] }))).code).toBe("LEASE_CONFLICT");
  });

  it("a lease still held when the coordinator restarts is requeued by the new process and leased again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "drover-restart-"));
    try {
      let id: number;
      {
        await using first = await startTestCoordinator({}, dir);
        [id] = (await submitAll(first, [{ type: "noop", leaseSeconds: 1 }])) as [number];
        const w = await first.worker();
        expect(await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] })).toHaveLength(1);
      } // the coordinator stops with the job leased and no other noop job queued
      await using second = await startTestCoordinator({}, dir);
      const w = await second.worker();
      const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], waitMs: 30_000 });
      expect(lease).toMatchObject({ jobId: id, attempt: 2 });
      expect(await eventKinds(second, id)).toEqual(["submitted", "leased", "expired", "leased"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
