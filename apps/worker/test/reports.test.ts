import { startTestCoordinator } from "@drover/coordinator/testing";
import { defineJobType } from "@drover/jobs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { eventually, startInProcessWorker } from "./helpers.ts";

// Results of ~0.9 MB each: 24 of them in one report would be over the coordinator's 16 MiB body limit.
const bigResult = defineJobType({
  name: "test.big",
  payload: z.object({}),
  run: (ctx) => ({ jobId: ctx.jobId, blob: "x".repeat(900_000) }),
});

describe("worker reports", () => {
  it("splits a report that would be over the body limit, so every job completes once (regression: one 413 dropped the whole batch)", async () => {
    await using t = await startTestCoordinator({ acceptUnknownTypes: true });
    await using w = await startInProcessWorker(t, { types: ["test.big"], concurrency: 24 }, [bigResult as never]);
    await t.admin.jobs.submitBatch.mutate({ jobs: Array.from({ length: 24 }, () => ({ type: "test.big" })) });
    await eventually(async () => (await t.admin.jobs.counts.query({ type: "test.big" })).find((c) => c.status === "succeeded")?.count === 24, 60_000, "24 big results");
    expect(w.worker.stats.succeeded).toBe(24);
    expect(w.worker.stats.leased).toBe(24); // nothing ran twice
  });
});
