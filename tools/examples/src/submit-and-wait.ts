// Submits 1,000 jobs in one batch and waits until every one has ended.
// Run: DROVER_URL=http://127.0.0.1:7400 DROVER_TOKEN=drv_... npx tsx tools/examples/src/submit-and-wait.ts
import { createDroverClient } from "@drover/protocol";

const drover = createDroverClient({ url: process.env.DROVER_URL ?? "http://127.0.0.1:7400", token: process.env.DROVER_TOKEN });
const type = process.env.JOB_TYPE ?? "noop";

// One round trip for all 1,000; the idempotency keys make a re-run add nothing.
const run = Date.now();
const submitted = await drover.jobs.submitBatch.mutate({
  jobs: Array.from({ length: 1000 }, (_, i) => ({ type, payload: {}, idempotencyKey: `example-${run}-${i}` })),
});
const ids = new Set(submitted.map((s) => s.id));
console.log(`submitted ${ids.size} jobs`);

// Poll the counts until nothing of ours is queued or leased; then read the outcomes page by page.
for (;;) {
  const counts = await drover.jobs.counts.query({ type });
  const open = counts.filter((c) => c.status === "queued" || c.status === "leased").reduce((n, c) => n + c.count, 0);
  if (open === 0) break;
  await new Promise((r) => setTimeout(r, 200));
}
const outcome: Record<string, number> = {};
let cursor: number | undefined;
do {
  const page = await drover.jobs.list.query({ type, limit: 1000, ...(cursor ? { cursor } : {}) });
  for (const job of page.jobs) if (ids.has(job.id)) outcome[job.status] = (outcome[job.status] ?? 0) + 1;
  cursor = page.nextCursor ?? undefined;
} while (cursor !== undefined);
console.log(`outcome: ${JSON.stringify(outcome)}`);
