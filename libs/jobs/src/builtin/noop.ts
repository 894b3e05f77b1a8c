import { setTimeout as sleep } from "node:timers/promises";
import { defineJobType } from "../define.ts";
import { noopSpec } from "./noop.spec.ts";

export const noopJob = defineJobType({
  ...noopSpec,
  async run(ctx) {
    if (ctx.payload.sleepMs > 0) await sleep(ctx.payload.sleepMs, undefined, { signal: ctx.signal });
    if (ctx.payload.failWith !== undefined) throw new Error(ctx.payload.failWith);
    return { ok: true as const };
  },
});
