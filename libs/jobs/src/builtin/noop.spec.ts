import { z } from "zod";
import type { JobTypeSpec } from "../define.ts";

export const noopPayload = z.strictObject({
  /** Sleep this long before succeeding (for benchmarks and tests), default 0. */
  sleepMs: z.number().int().min(0).max(3_600_000).default(0),
  /** Fail the attempt with this message (retryable) — for tests of the retry path. */
  failWith: z.string().max(1000).optional(),
});
export const noopResult = z.object({ ok: z.literal(true) });

export const noopSpec = {
  name: "noop",
  description: "Does nothing (optionally sleeps): for benchmarks and smoke tests.",
  payload: noopPayload,
  result: noopResult,
  defaults: { leaseSeconds: 60, maxAttempts: 3 },
} satisfies JobTypeSpec;
