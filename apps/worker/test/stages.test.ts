import { startTestCoordinator } from "@drover/coordinator/testing";
import { loadPlugin } from "@drover/jobs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, startInProcessWorker } from "./helpers.ts";

const stagesPath = resolve(import.meta.dirname, "fixtures/stages-plugin.mjs");

describe("plugins drive stages: ctx.count, ctx.spawn and RequeueParentError through a real worker", () => {
  it("stage 1 spawns stage 2 with its success; stage 2 sends it back once; counts reach the leaderboard", async () => {
    await using t = await startTestCoordinator({ plugins: [stagesPath] });
    const types = await loadPlugin(stagesPath);
    await using _w = await startInProcessWorker(t, { types: ["test.stage1", "test.stage2"], concurrency: 2 }, types);
    const { id } = await t.admin.jobs.submit.mutate({ type: "test.stage1", payload: { n: 41 } });
    // Round 1: stage 2 (attempt-1 payload) requeues stage 1; round 2 goes through.
    const done = await eventually(async () => {
      const { jobs } = await t.admin.jobs.list.query({ type: "test.stage2" });
      return jobs.find((j) => j.status === "succeeded");
    }, 30_000);
    expect(done.parentId).toBe(id);
    const stage2 = (await t.admin.jobs.list.query({ type: "test.stage2" })).jobs;
    expect(stage2.map((j) => j.status).sort()).toEqual(["failed", "succeeded"]);
    const parent = await t.admin.jobs.get.query({ id });
    expect(parent).toMatchObject({ status: "succeeded", attempts: 2 });
    const events = (await t.admin.jobs.events.query({ id })).map((e) => e.kind);
    expect(events).toEqual(["submitted", "leased", "succeeded", "reopened", "leased", "succeeded"]);
    const byType = await t.admin.workers.countersByType.query();
    expect(byType.find((r) => r.type === "test.stage1")).toEqual({ type: "test.stage1", jobs: 2, counts: { pairs: 84 } });
    expect(byType.find((r) => r.type === "test.stage2")).toEqual({ type: "test.stage2", jobs: 1, counts: { images: 3 } });
  });

  it("a completion the coordinator refuses (a spawn of an unknown type) fails the job for good with the reason", async () => {
    await using t = await startTestCoordinator({ plugins: [stagesPath] });
    const types = await loadPlugin(stagesPath);
    await using _w = await startInProcessWorker(t, { types: ["test.badspawn"] }, types);
    const { id } = await t.admin.jobs.submit.mutate({ type: "test.badspawn", payload: {} });
    const job = await eventually(async () => {
      const j = await t.admin.jobs.get.query({ id });
      return j.status === "failed" ? j : undefined;
    });
    expect(job.error).toMatchObject({ code: "UNKNOWN_JOB_TYPE", retryable: false });
    expect(job.error?.message).toContain("no.such.type");
    expect(job.attempts).toBe(1);
  });
});
