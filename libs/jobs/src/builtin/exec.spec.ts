import { z } from "zod";
import type { JobTypeSpec } from "../define.ts";

export const execPayload = z.strictObject({
  /** The program to run (looked up on the worker's PATH); no shell is involved. */
  command: z.string().min(1).max(4096),
  args: z.array(z.string().max(100_000)).max(10_000).default([]),
  /** Added to the worker's environment. */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"), z.string()).default({}),
  /** Kill the process after this long, default 1 hour. */
  timeoutMs: z.number().int().min(1).max(7 * 86_400_000).default(3_600_000),
  /** Exit codes that count as success, default [0]. */
  okExitCodes: z.array(z.number().int()).min(1).default([0]),
  /** Bytes of stdout/stderr kept in the result, default 4096. */
  tailBytes: z.number().int().min(0).max(1_000_000).default(4096),
});
export const execResult = z.object({
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  stdoutTail: z.string(),
  stderrTail: z.string(),
  durationMs: z.number(),
});

export const execSpec = {
  name: "exec",
  description: "Runs a command with args and env in the attempt's work dir; result = exit code and output tails.",
  payload: execPayload,
  result: execResult,
  defaults: { leaseSeconds: 120, maxAttempts: 3 },
} satisfies JobTypeSpec;
