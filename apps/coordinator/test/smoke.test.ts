import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";

describe("coordinator smoke", () => {
  it("submits, leases and completes a job over HTTP", async () => {
    await using t = await startTestCoordinator();
    const health = await t.client().system.health.query();
    expect(health.ok).toBe(true);
    const { id } = await t.admin.jobs.submit.mutate({ type: "noop", payload: {} });
    const w = await t.worker();
    const leases = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 5 });
    expect(leases.map((l) => l.jobId)).toEqual([id]);
    const lease = leases[0]!;
    const out = await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [{ jobId: id, attempt: lease.attempt, leaseId: lease.leaseId, result: { ok: true } }] });
    expect(out.results[0]!.outcome).toBe("ok");
    const job = await t.admin.jobs.get.query({ id });
    expect(job.status).toBe("succeeded");
    expect(job.result).toEqual({ ok: true });
  });
});
