import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";

describe("WAL checkpoints", () => {
  it("are taken off the request path by a background thread, so committed pages reach the database file", async () => {
    await using t = await startTestCoordinator();
    const file = join(t.dir, "drover.db");
    const before = statSync(file).size;
    const payload = { sleepMs: 0, failWith: undefined };
    const pad = "x".repeat(900);
    for (let i = 0; i < 5; i++) {
      await t.admin.jobs.submitBatch.mutate({ jobs: Array.from({ length: 1000 }, (_, k) => ({ type: "noop", payload, idempotencyKey: `${pad}-${i}-${k}`.slice(-200) })) });
    }
    // The commits above went to the WAL only (automatic checkpoints are off); the background
    // checkpointer (every second) copies them into the main file.
    let size = statSync(file).size;
    for (let i = 0; i < 100 && size < before + 1_000_000; i++) {
      await new Promise((r) => setTimeout(r, 100));
      size = statSync(file).size;
    }
    expect(size).toBeGreaterThan(before + 1_000_000);
  });
});
