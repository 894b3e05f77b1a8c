import { z } from "zod";

/** Largest JSON size (bytes) of a job payload or result; bigger data belongs in storage. */
export const MAX_JSON_BYTES = 1_000_000;

export const ROLES = ["admin", "submitter", "worker", "reader"] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

export const JOB_STATUSES = ["queued", "leased", "succeeded", "failed", "cancelled"] as const;
export const JobStatus = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatus>;

/** Job types and queues: dotted lower-case names such as `download.url`. */
export const Name = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9][a-z0-9_.:-]*$/, "must be lower-case letters, digits and . _ : -");

export const JobId = z.number().int().positive();
export const EpochMs = z.number().int().nonnegative();

/**
 * Any JSON value. Its size limit (MAX_JSON_BYTES) is checked where the coordinator
 * serialises it anyway, so a payload is stringified once, not twice.
 */
export const JsonValue = z.unknown();

/** Input of procedures that take none: refuses a stray body instead of ignoring it. */
export const NoInput = z.strictObject({}).optional();
