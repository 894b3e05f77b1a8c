import { z } from "zod";
import { EpochMs, JobStatus, Name } from "./common.ts";

export const QueueInput = z.strictObject({ queue: Name });

export const PauseInput = z.strictObject({
  queue: Name,
  /** Resume by itself after this many seconds; omit to pause until resumed. */
  seconds: z.number().int().min(1).max(365 * 86_400).optional(),
});

export const QueueInfo = z.object({
  name: z.string(),
  paused: z.boolean(),
  /** When a timed pause ends; null when not paused or paused until resumed. */
  pausedUntil: EpochMs.nullable(),
  counts: z.record(JobStatus, z.number()),
});
export type QueueInfo = z.infer<typeof QueueInfo>;

export const QueueStats = QueueInfo.extend({
  /** Jobs that succeeded in the last 1, 5 and 15 minutes, per minute. */
  throughputPerMinute: z.object({ m1: z.number(), m5: z.number(), m15: z.number() }),
  failedLast15m: z.number(),
});
export type QueueStats = z.infer<typeof QueueStats>;

export const ClearOutput = z.object({ cancelled: z.number() });
