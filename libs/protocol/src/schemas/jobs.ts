import { z } from "zod";
import { EpochMs, JobId, JobStatus, JsonValue, Name } from "./common.ts";

export const JobSubmitInput = z.strictObject({
  type: Name,
  payload: JsonValue.default({}),
  /** Queue the job joins; defaults to its type. Pause, resume and clear act on queues. */
  queue: Name.optional(),
  /** Higher runs first; default 0. */
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(0),
  /** Not leased before this time (epoch ms); default now. */
  runAfter: EpochMs.optional(),
  /** Attempts before the job fails for good; default from the job type, else the coordinator's. */
  maxAttempts: z.number().int().min(1).max(1000).optional(),
  /** Lease length; a worker heartbeats at a third of it. Default from the job type, else the coordinator's. */
  leaseSeconds: z.number().int().min(1).max(86_400).optional(),
  /** A second submit with the same key returns the first job instead of adding one. */
  idempotencyKey: z.string().min(1).max(200).optional(),
  /**
   * Concurrency group (e.g. a host): a queue's per-group limit caps how many jobs of one
   * group are leased at once. Default from the job type (download.url: the URL's host).
   */
  group: z.string().min(1).max(255).optional(),
});
export type JobSubmitInput = z.input<typeof JobSubmitInput>;
export type JobSubmitParsed = z.output<typeof JobSubmitInput>;

export const MAX_BATCH = 10_000;
export const JobSubmitBatchInput = z.strictObject({
  jobs: z.array(JobSubmitInput).min(1).max(MAX_BATCH),
});

export const JobError = z.object({
  message: z.string(),
  code: z.string().optional(),
  retryable: z.boolean().optional(),
  stack: z.string().optional(),
});
export type JobError = z.infer<typeof JobError>;

export const Job = z.object({
  id: JobId,
  type: z.string(),
  queue: z.string(),
  payload: z.unknown(),
  priority: z.number(),
  runAfter: EpochMs,
  status: JobStatus,
  attempts: z.number(),
  maxAttempts: z.number(),
  leaseSeconds: z.number(),
  leaseExpiresAt: EpochMs.nullable(),
  workerId: z.string().nullable(),
  idempotencyKey: z.string().nullable(),
  progress: z.object({ fraction: z.number(), message: z.string().nullable() }).nullable(),
  result: z.unknown(),
  error: JobError.nullable(),
  createdBy: z.string().nullable(),
  /** The job whose completion spawned this one (the previous stage). */
  parentId: JobId.nullable(),
  /** Concurrency group (see JobSubmitInput.group). */
  group: z.string().nullable(),
  createdAt: EpochMs,
  updatedAt: EpochMs,
  startedAt: EpochMs.nullable(),
  finishedAt: EpochMs.nullable(),
});
export type Job = z.infer<typeof Job>;

export const SubmitResult = z.object({ id: JobId, deduplicated: z.boolean() });
export type SubmitResult = z.infer<typeof SubmitResult>;

export const JobListInput = z.strictObject({
  type: Name.optional(),
  queue: Name.optional(),
  status: JobStatus.optional(),
  /** Page size, default 100. */
  limit: z.number().int().min(1).max(1000).default(100),
  /** `nextCursor` of the previous page: jobs with a smaller id follow (newest first). */
  cursor: JobId.optional(),
});
export type JobListInput = z.input<typeof JobListInput>;

export const JobListOutput = z.object({ jobs: z.array(Job), nextCursor: JobId.nullable() });
export type JobListOutput = z.infer<typeof JobListOutput>;

export const JobCountsInput = z.strictObject({ type: Name.optional(), queue: Name.optional() });
export const JobCount = z.object({ type: z.string(), status: JobStatus, count: z.number() });
export type JobCount = z.infer<typeof JobCount>;

export const JobIdInput = z.strictObject({ id: JobId });

export const JobEvent = z.object({
  id: z.number(),
  jobId: JobId,
  at: EpochMs,
  kind: z.string(),
  attempt: z.number(),
  workerId: z.string().nullable(),
  data: z.unknown(),
});
export type JobEvent = z.infer<typeof JobEvent>;

export const JobLogLine = z.object({ at: EpochMs, attempt: z.number(), line: z.string() });
export type JobLogLine = z.infer<typeof JobLogLine>;

export const AllocateIdsInput = z.strictObject({
  /** The sequence's name, e.g. "crawl.samples". */
  sequence: Name,
  /** How many ids to reserve. */
  count: z.number().int().min(1).max(1e12),
});
export const AllocateIdsOutput = z.object({ start: z.number(), end: z.number() });
