import type { Job, JobError, LeaseRecord } from "@drover/protocol";
import type { jobs } from "./schema.ts";

export type JobRow = typeof jobs.$inferSelect;

export function parseJson(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

export function jobFromRow(row: JobRow): Job {
  return {
    id: row.id,
    type: row.type,
    queue: row.queue,
    payload: parseJson(row.payload),
    priority: row.priority,
    runAfter: row.runAfter,
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    leaseSeconds: row.leaseSeconds,
    leaseExpiresAt: row.status === "leased" ? row.leaseExpiresAt : null,
    workerId: row.workerId,
    idempotencyKey: row.idempotencyKey,
    progress: row.progressFraction === null ? null : { fraction: row.progressFraction, message: row.progressMessage },
    result: parseJson(row.result) ?? undefined,
    error: parseJson(row.error) as JobError | null,
    createdBy: row.createdBy,
    parentId: row.parentId,
    group: row.groupKey,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}

export function leaseFromRow(row: Pick<JobRow, "id" | "leaseId" | "attempts" | "leaseExpiresAt" | "leaseSeconds" | "maxAttempts" | "type" | "queue" | "payload">): LeaseRecord {
  return {
    jobId: row.id,
    leaseId: row.leaseId!,
    attempt: row.attempts,
    expiresAt: row.leaseExpiresAt!,
    leaseSeconds: row.leaseSeconds,
    maxAttempts: row.maxAttempts,
    type: row.type,
    queue: row.queue,
    payload: parseJson(row.payload),
  };
}
