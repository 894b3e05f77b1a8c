import { NonRetryableError, type JobType, type SpawnJob } from "@drover/jobs";
import type { DroverClient, JobError, Lease } from "@drover/protocol";
import { mkdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

/** Why a running job's signal was aborted. When set, the job's outcome is not reported. */
export class LeaseEndedError extends Error {
  override readonly name = "LeaseEndedError";
  constructor(readonly why: "lost" | "cancelled" | "shutdown") {
    super(why === "lost" ? "the lease was lost" : why === "cancelled" ? "the job was cancelled" : "the worker is shutting down");
  }
}

export type Outcome =
  | { kind: "succeeded"; result: unknown; counts?: Record<string, number>; spawn?: SpawnJob[] }
  | { kind: "failed"; error: JobError; retryable: boolean; requeueTo?: "parent"; counts?: Record<string, number> }
  | { kind: "abandoned"; why: LeaseEndedError["why"] };

/** A job in flight: what heartbeats send and what cancels it. */
export class RunningJob {
  readonly controller = new AbortController();
  progress: { fraction: number; message?: string } | undefined;
  logs: string[] = [];
  /** Named counts (sent with the outcome) and follow-up jobs (with a completion only). */
  counts: Record<string, number> = {};
  spawned: SpawnJob[] = [];
  constructor(public lease: Lease) {}

  /** Aborts the plugin; its outcome will be dropped. */
  end(why: LeaseEndedError["why"]): void {
    if (!this.controller.signal.aborted) this.controller.abort(new LeaseEndedError(why));
  }
}

const MAX_SPAWN = 1000;
const COUNT_NAME = /^[a-z0-9][a-z0-9_.:-]*$/;

function toJobError(error: unknown): { error: JobError; retryable: boolean; requeueTo?: "parent" } {
  if (error instanceof Error && error.name === "RequeueParentError") {
    const code = (error as { code?: unknown }).code;
    return { error: { message: error.message, code: typeof code === "string" ? code : "REQUEUE_PARENT" }, retryable: false, requeueTo: "parent" };
  }
  // By name too: a plugin may bundle its own copy of @drover/jobs.
  if (error instanceof NonRetryableError || (error instanceof Error && error.name === "NonRetryableError")) {
    const code = (error as { code?: unknown }).code;
    return { error: { message: error.message, code: typeof code === "string" ? code : "NON_RETRYABLE" }, retryable: false };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { error: { message: error.message || error.name, ...(typeof code === "string" ? { code } : {}), ...(error.stack ? { stack: error.stack.slice(0, 4000) } : {}) }, retryable: true };
  }
  return { error: { message: String(error) }, retryable: true };
}

/**
 * Runs one attempt through its plugin: parses the payload with the type's schema, gives
 * the plugin a fresh work dir and the job's AbortSignal, checks the result against the
 * type's result schema, and always removes the work dir.
 */
export async function runJob(job: RunningJob, type: JobType, workRoot: string, coordinator: DroverClient): Promise<Outcome> {
  const { lease } = job;
  const signal = job.controller.signal;
  const workDir = join(workRoot, `job-${lease.jobId}-${lease.attempt}-${randomBytes(4).toString("hex")}`);
  // The work dir is made on first use: most attempts of light job types never touch it.
  let made = false;
  try {
    const payload = type.payload.safeParse(lease.payload);
    if (!payload.success) throw new NonRetryableError(`payload does not match '${type.name}': ${payload.error.message}`, { code: "PAYLOAD_INVALID" });
    const result = await type.run({
      jobId: lease.jobId,
      attempt: lease.attempt,
      leaseId: lease.leaseId,
      coordinator,
      maxAttempts: lease.maxAttempts,
      payload: payload.data,
      signal,
      get workDir() {
        if (!made) {
          mkdirSync(workDir, { recursive: true });
          made = true;
        }
        return workDir;
      },
      progress: (fraction, message) => {
        job.progress = { fraction: Math.min(1, Math.max(0, fraction)), ...(message !== undefined ? { message: message.slice(0, 1000) } : {}) };
      },
      log: (line) => {
        if (job.logs.length < 1000) job.logs.push(String(line).slice(0, 10_000));
      },
      count: (name, n = 1) => {
        if (!COUNT_NAME.test(name) || name.length > 100) throw new TypeError(`count name must be a lower-case name such as 'pairs', got ${JSON.stringify(name)}`);
        if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`count '${name}' must add a non-negative integer, got ${n}`);
        job.counts[name] = (job.counts[name] ?? 0) + n;
      },
      spawn: (next) => {
        if (job.spawned.length >= MAX_SPAWN) throw new TypeError(`a job may spawn at most ${MAX_SPAWN} follow-up jobs`);
        job.spawned.push(next);
      },
    });
    if (signal.aborted) return { kind: "abandoned", why: (signal.reason as LeaseEndedError).why };
    if (type.result) {
      const checked = type.result.safeParse(result);
      if (!checked.success) {
        return { kind: "failed", error: { message: `result does not match '${type.name}': ${checked.error.message}`, code: "RESULT_INVALID" }, retryable: false };
      }
      return { kind: "succeeded", result: checked.data, ...extras(job) };
    }
    return { kind: "succeeded", result, ...extras(job) };
  } catch (error) {
    if (signal.aborted && signal.reason instanceof LeaseEndedError) return { kind: "abandoned", why: signal.reason.why };
    return { kind: "failed", ...toJobError(error), ...(Object.keys(job.counts).length > 0 ? { counts: job.counts } : {}) };
  } finally {
    if (made) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function extras(job: RunningJob): { counts?: Record<string, number>; spawn?: SpawnJob[] } {
  return {
    ...(Object.keys(job.counts).length > 0 ? { counts: job.counts } : {}),
    ...(job.spawned.length > 0 ? { spawn: job.spawned } : {}),
  };
}
