import { droverErrorCode } from "@drover/protocol";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startTestCoordinator } from "./helpers.ts";
import { rawCall } from "./procedures.ts";

describe("fencing", () => {
  it("a retried job's new attempt never shares a lease with an earlier one (regression: retry reset attempts to 0)", async () => {
    await using t = await startTestCoordinator();
    const { id } = await t.admin.jobs.submit.mutate({ type: "noop" });
    const a = await t.worker();
    const b = await t.worker();
    const [old] = await a.client.leases.acquire.mutate({ workerId: a.workerId, types: ["noop"] });
    await t.admin.jobs.cancel.mutate({ id });
    await t.admin.jobs.retry.mutate({ id });
    const [fresh] = await b.client.leases.acquire.mutate({ workerId: b.workerId, types: ["noop"] });
    expect(fresh!.attempt).toBe(old!.attempt + 1);
    expect(fresh!.leaseId).not.toBe(old!.leaseId);
    // A, which never heard of the cancel, is told its lease is lost and cannot complete.
    const beat = await a.client.leases.heartbeat.mutate({ workerId: a.workerId, leases: [{ jobId: id, attempt: old!.attempt, leaseId: old!.leaseId }] });
    expect(beat.lost.map((l) => l.jobId)).toEqual([id]);
    const stale = await a.client.leases.complete.mutate({ workerId: a.workerId, leases: [{ jobId: id, attempt: old!.attempt, leaseId: old!.leaseId, result: { by: "a" } }] }).catch((e: unknown) => e);
    expect(droverErrorCode(stale)).toBe("LEASE_CONFLICT");
    await b.client.leases.complete.mutate({ workerId: b.workerId, leases: [{ jobId: id, attempt: fresh!.attempt, leaseId: fresh!.leaseId, result: { by: "b" } }] });
    expect((await t.admin.jobs.get.query({ id })).result).toEqual({ by: "b" });
  });

  it("a worker cannot heartbeat, complete, fail or release a lease another worker holds, even knowing its id", async () => {
    await using t = await startTestCoordinator();
    const { id } = await t.admin.jobs.submit.mutate({ type: "noop" });
    const owner = await t.worker();
    const thief = await t.worker();
    const [lease] = await owner.client.leases.acquire.mutate({ workerId: owner.workerId, types: ["noop"] });
    const ref = { jobId: id, attempt: lease!.attempt, leaseId: lease!.leaseId };
    const as = { workerId: thief.workerId };
    expect(droverErrorCode(await thief.client.leases.complete.mutate({ ...as, leases: [{ ...ref, result: "forged" }] }).catch((e: unknown) => e))).toBe("LEASE_CONFLICT");
    expect(droverErrorCode(await thief.client.leases.fail.mutate({ ...as, leases: [{ ...ref, error: { message: "x" }, retryable: false }] }).catch((e: unknown) => e))).toBe("LEASE_CONFLICT");
    expect((await thief.client.leases.heartbeat.mutate({ ...as, leases: [ref] })).lost).toHaveLength(1);
    expect((await thief.client.leases.release.mutate({ ...as, leases: [ref] })).released).toBe(0);
    const job = await t.admin.jobs.get.query({ id });
    expect(job).toMatchObject({ status: "leased", workerId: owner.workerId, attempts: 1 });
    await owner.client.leases.complete.mutate({ workerId: owner.workerId, leases: [ref] });
    expect((await t.admin.jobs.get.query({ id })).status).toBe("succeeded");
  });

  it("lease ids are random, not derived from the job", async () => {
    await using t = await startTestCoordinator();
    await t.admin.jobs.submitBatch.mutate({ jobs: [{ type: "noop" }, { type: "noop" }] });
    const w = await t.worker();
    const leases = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 2 });
    for (const l of leases) expect(l.leaseId).toMatch(/^[0-9a-f]{24}$/); // 96 random bits
    expect(new Set(leases.map((l) => l.leaseId)).size).toBe(2);
  });

  it("deeply nested JSON is refused with a 4xx, never a 500 (regression: JSON.stringify overflowed the stack)", async () => {
    await using t = await startTestCoordinator();
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    const submit = await rawCall(t.coordinator.url, "jobs.submit", { token: ADMIN_TOKEN, body: `{"type":"noop","payload":${deep}}` });
    expect(submit.status).toBeGreaterThanOrEqual(400);
    expect(submit.status).toBeLessThan(500);
    await t.admin.jobs.submit.mutate({ type: "noop" });
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    const body = `{"workerId":"${w.workerId}","leases":[{"jobId":${lease!.jobId},"attempt":${lease!.attempt},"leaseId":"${lease!.leaseId}","result":${deep}}]}`;
    const complete = await rawCall(t.coordinator.url, "leases.complete", { token: w.token, body });
    expect(complete.status).toBeGreaterThanOrEqual(400);
    expect(complete.status).toBeLessThan(500);
    expect((await t.client().system.health.query()).ok).toBe(true);
  });
});
