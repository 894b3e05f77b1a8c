import { z } from "zod";
import { EpochMs, JobStatus, Name } from "./common.ts";

export const QueueInput = z.strictObject({ queue: Name });

export const PauseInput = z.strictObject({
  queue: Name,
  /** Resume by itself after this many seconds; omit to pause until resumed. */
  seconds: z.number().int().min(1).max(365 * 86_400).optional(),
});

/** A cap on leased jobs; null removes it. */
const Limit = z.number().int().min(1).max(1_000_000).nullable();

export const SetConcurrencyInput = z.strictObject({
  queue: Name,
  /** Most of the queue's jobs leased at once across all workers; null = no limit. */
  concurrency: Limit.optional(),
  /** Most jobs of one group (e.g. one host) leased at once; null = no limit. */
  groupConcurrency: Limit.optional(),
});

export const QueueInfo = z.object({
  name: z.string(),
  paused: z.boolean(),
  /** When a timed pause ends; null when not paused or paused until resumed. */
  pausedUntil: EpochMs.nullable(),
  concurrency: z.number().nullable(),
  groupConcurrency: z.number().nullable(),
  counts: z.record(JobStatus, z.number()),
});
export type QueueInfo = z.infer<typeof QueueInfo>;

export const QueueStatsInput = z.strictObject({
  queue: Name,
  /** Only this owner's jobs. A submitter always sees their own only. */
  user: z.string().min(1).max(200).optional(),
});

/** What settled jobs reported over one rolling window (10-second buckets). */
export const StatsWindow = z.object({
  minutes: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  /** Attempts that failed and were scheduled again (errors and expired leases). */
  retried: z.number(),
  /** The `bytes` count jobs reported (download.url: bytes written). */
  bytes: z.number(),
  /** Responses per HTTP status, from `http.<code>` counts (download.url reports one per job). */
  http: z.record(z.string(), z.number()),
  /** Every other named count jobs reported. */
  counts: z.record(z.string(), z.number()),
  jobsPerSecond: z.number(),
  bytesPerSecond: z.number(),
});
export type StatsWindow = z.infer<typeof StatsWindow>;

export const QueueStats = QueueInfo.extend({
  /** Whose jobs the counts and windows cover; null = everyone's. */
  user: z.string().nullable(),
  windows: z.object({ m1: StatsWindow, m10: StatsWindow, m60: StatsWindow }),
});
export type QueueStats = z.infer<typeof QueueStats>;

export const ClearOutput = z.object({ cancelled: z.number() });
