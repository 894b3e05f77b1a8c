// A job-type plugin: load it on a worker with `drover worker --plugin ./tools/examples/src/hello-plugin.ts`
// and on the coordinator with `--plugin` too, so submits are validated against its schema.
import { defineJobType, NonRetryableError } from "@drover/jobs";
import { z } from "zod";

export default defineJobType({
  name: "example.hello",
  payload: z.object({ name: z.string().min(1), times: z.number().int().min(1).max(100).default(1) }),
  result: z.object({ greeting: z.string() }),
  defaults: { leaseSeconds: 30, maxAttempts: 3 },
  async run(ctx) {
    if (ctx.payload.name === "nobody") throw new NonRetryableError("nobody to greet"); // fails for good, no retry
    const parts: string[] = [];
    for (let i = 0; i < ctx.payload.times; i++) {
      ctx.signal.throwIfAborted(); // the lease was lost or the job cancelled: stop
      parts.push(`hello ${ctx.payload.name}`);
      ctx.progress((i + 1) / ctx.payload.times, `${i + 1} of ${ctx.payload.times}`);
    }
    ctx.log(`greeted ${ctx.payload.name} ${ctx.payload.times} times in ${ctx.workDir}`);
    return { greeting: parts.join(", ") };
  },
});
