import { z } from "zod";
import { EpochMs, JobId, JsonValue, Name } from "./common.ts";
import { JobError, JobSubmitInput } from "./jobs.ts";

export const WorkerId = z.string().min(1).max(100);

/** Most jobs one acquire may claim. */
export const MAX_CLAIM = 1000;
/** Longest long-poll. */
export const MAX_WAIT_MS = 60_000;

export const AcquireInput = z.strictObject({
  workerId: WorkerId,
  types: z.array(Name).min(1).max(100),
  /** Only jobs in these queues (e.g. one project's datasets); omit for every queue of `types`. */
  queues: z.array(Name).min(1).max(100).optional(),
  /** Jobs to claim at most; default 1. */
  max: z.number().int().min(1).max(MAX_CLAIM).default(1),
  /** Long-poll this long when nothing is runnable; default 0 (answer at once). */
  waitMs: z.number().int().min(0).max(MAX_WAIT_MS).default(0),
});
export type AcquireInput = z.input<typeof AcquireInput>;

export const Lease = z.object({
  jobId: JobId,
  leaseId: z.string(),
  /** The fencing token: only this attempt may heartbeat, complete or fail the job. */
  attempt: z.number().int(),
  expiresAt: EpochMs,
  leaseSeconds: z.number().int(),
  maxAttempts: z.number().int(),
  type: z.string(),
  queue: z.string(),
  payload: z.unknown(),
});
/** A lease as the coordinator builds it. */
export type LeaseRecord = z.infer<typeof Lease>;
/** A lease as the typed client returns it (a JSON payload of `undefined` is absent). */
export type Lease = Omit<LeaseRecord, "payload"> & { payload?: unknown };

export const LeaseRef = z.strictObject({
  jobId: JobId,
  attempt: z.number().int().min(1),
  leaseId: z.string().min(1).max(100),
});
export type LeaseRef = z.infer<typeof LeaseRef>;

/** Log lines for the job's log: with heartbeats, and the last ones with the outcome. */
const LogLines = z.array(z.string().max(10_000)).max(1000);

export const HeartbeatItem = LeaseRef.extend({
  progress: z
    .strictObject({ fraction: z.number().min(0).max(1), message: z.string().max(1000).optional() })
    .optional(),
  logs: LogLines.optional(),
});
export type HeartbeatItem = z.infer<typeof HeartbeatItem>;

export const HeartbeatInput = z.strictObject({
  workerId: WorkerId,
  leases: z.array(HeartbeatItem).max(MAX_CLAIM),
});
export type HeartbeatInput = z.input<typeof HeartbeatInput>;

export const HeartbeatOutput = z.object({
  extended: z.array(z.object({ jobId: JobId, expiresAt: EpochMs })),
  /** Leases that are no longer the job's current lease: stop the work, do not complete. */
  lost: z.array(LeaseRef),
  /** Jobs cancelled by a user: stop the work. */
  cancelled: z.array(LeaseRef),
});
export type HeartbeatOutput = z.infer<typeof HeartbeatOutput>;

/** Most follow-up jobs one completion may spawn. */
export const MAX_SPAWN = 1000;

/** Named counts a job reports with its success (e.g. `pairs`), added up per worker name and type. */
export const Counts = z
  .record(Name, z.number().int().min(0).max(1e15))
  .refine((c) => Object.keys(c).length <= 32, { message: "at most 32 named counts" });

export const CompleteItem = LeaseRef.extend({
  result: JsonValue.optional(),
  counts: Counts.optional(),
  /**
   * Follow-up jobs (the next stage), inserted in the same transaction as this success:
   * both happen or neither; a stale completion spawns nothing. Each records this job as
   * its parent and is owned by this job's owner.
   */
  spawn: z.array(JobSubmitInput).max(MAX_SPAWN).optional(),
  /** Log lines written since the last heartbeat: kept only if the completion is accepted. */
  logs: LogLines.optional(),
});
export type CompleteItem = z.infer<typeof CompleteItem>;

export const FailItem = LeaseRef.extend({
  error: JobError.extend({ message: z.string().max(20_000) }),
  /** false: fail the job for good now (a NonRetryableError). Default true. */
  retryable: z.boolean().default(true),
  /**
   * "parent": this job's input was bad because of the stage before it (Crawling@Home's
   * invalid download): fail this job for good and reopen the job that spawned it, in one
   * transaction.
   */
  requeueTo: z.literal("parent").optional(),
  /** Named counts of the failed attempt (e.g. `http.404`): they go to the queue's stats windows only. */
  counts: Counts.optional(),
  /** Log lines written since the last heartbeat (often the reason for the failure). */
  logs: LogLines.optional(),
});
export type FailItem = z.input<typeof FailItem>;

/** Claim the next jobs in the same round trip as a completion. */
export const AcquireNext = z.strictObject({
  types: z.array(Name).min(1).max(100),
  queues: z.array(Name).min(1).max(100).optional(),
  max: z.number().int().min(1).max(MAX_CLAIM),
});

export const CompleteInput = z.strictObject({
  workerId: WorkerId,
  leases: z.array(CompleteItem).min(1).max(MAX_CLAIM),
  next: AcquireNext.optional(),
});
export type CompleteInput = z.input<typeof CompleteInput>;

export const FailInput = z.strictObject({
  workerId: WorkerId,
  leases: z.array(FailItem).min(1).max(MAX_CLAIM),
  next: AcquireNext.optional(),
});
export type FailInput = z.input<typeof FailInput>;

/** Per-lease outcome of a batch: `ok` (done now), `repeat` (already done by this lease), `conflict`. */
export const SettleOutcome = z.object({
  jobId: JobId,
  outcome: z.enum(["ok", "repeat", "conflict"]),
  /** For a fail: what became of the job. */
  status: z.enum(["queued", "failed", "succeeded", "cancelled", "leased"]).optional(),
  message: z.string().optional(),
});
export type SettleOutcome = z.infer<typeof SettleOutcome>;

export const SettleOutput = z.object({ results: z.array(SettleOutcome), next: z.array(Lease) });
export type SettleOutput = z.infer<typeof SettleOutput>;

export const ReleaseInput = z.strictObject({ workerId: WorkerId, leases: z.array(LeaseRef).min(1).max(MAX_CLAIM) });
