import type { DroverClient } from "@drover/protocol";
import type { z } from "zod";

/** Per-type defaults a job gets when its submit does not say. */
export interface JobTypeDefaults {
  /** Lease length in seconds. */
  leaseSeconds?: number;
  /** Attempts before the job fails for good. */
  maxAttempts?: number;
}

/**
 * What the coordinator needs of a job type: its name and schemas. No runner, so the
 * coordinator never loads a plugin's heavy dependencies.
 */
export interface JobTypeSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  name: string;
  payload: P;
  result?: R;
  defaults?: JobTypeDefaults;
  description?: string;
  /**
   * The concurrency group of a job with this (validated) payload, e.g. a download's host:
   * a queue's per-group limit caps how many jobs of one group are leased at once across the
   * fleet. A submit's explicit `group` wins. Return undefined for no group.
   */
  groupKey?(payload: z.output<P>): string | undefined;
}

/** What a running job gets from the worker. */
export interface JobContext<P> {
  jobId: number;
  attempt: number;
  /** With jobId and attempt, names this lease in calls to the coordinator (they are fenced by it). */
  leaseId: string;
  /**
   * The coordinator's typed client, with the worker's token: for job types that work on
   * coordinator records (a dataset run reports its stages). Calls that change a job's
   * records should name `{ jobId, attempt, leaseId }`, so a lost lease changes nothing.
   */
  coordinator: DroverClient;
  maxAttempts: number;
  payload: P;
  /** Aborted when the lease is lost, the job is cancelled, or the worker shuts down. */
  signal: AbortSignal;
  /** A fresh directory for this attempt, removed after it. */
  workDir: string;
  /** Report progress; sent with the next heartbeat. */
  progress(fraction: number, message?: string): void;
  /** A line for the job's log on the coordinator; sent with the next heartbeat. */
  log(line: string): void;
  /**
   * Adds to a named counter (e.g. `pairs`, `images`). The totals travel with the job's
   * completion and the coordinator adds them up per worker name and per job type (the
   * leaderboard), and into the queue's rolling stats windows (`bytes` and `http.<code>` have
   * their own columns there). A failed attempt's counts go to the stats windows only.
   */
  count(name: string, n?: number): void;
  /**
   * Queues a follow-up job (the next stage of a pipeline). It is created in the same
   * transaction as this job's success: both appear, or neither (a stale completion spawns
   * nothing). The new job records this one as its parent.
   */
  spawn(job: SpawnJob): void;
}

/** A follow-up job a running job asks for. */
export interface SpawnJob {
  type: string;
  payload?: unknown;
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  leaseSeconds?: number;
  idempotencyKey?: string;
}

export interface JobType<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> extends JobTypeSpec<P, R> {
  run(ctx: JobContext<z.output<P>>): Promise<z.input<R>> | z.input<R>;
}

const NAME = /^[a-z0-9][a-z0-9_.:-]*$/;

/** Declares a job type; checks the declaration at once so a bad plugin fails at load. */
export function defineJobType<P extends z.ZodType, R extends z.ZodType>(type: JobType<P, R>): JobType<P, R> {
  assertJobType(type);
  return type;
}

/** Throws a clear error naming what is wrong with a would-be job type. */
export function assertJobType(value: unknown, where = "job type"): asserts value is JobType {
  assertJobTypeSpec(value, where);
  if (typeof (value as { run?: unknown }).run !== "function") {
    throw new TypeError(`${where} '${(value as JobTypeSpec).name}': run must be a function`);
  }
}

export function assertJobTypeSpec(value: unknown, where = "job type"): asserts value is JobTypeSpec {
  if (typeof value !== "object" || value === null) throw new TypeError(`${where}: expected an object from defineJobType()`);
  const spec = value as Partial<JobTypeSpec>;
  if (typeof spec.name !== "string" || !NAME.test(spec.name) || spec.name.length > 100) {
    throw new TypeError(`${where}: name must be a lower-case dotted name such as 'download.url', got ${JSON.stringify(spec.name)}`);
  }
  if (!isSchema(spec.payload)) throw new TypeError(`${where} '${spec.name}': payload must be a zod schema`);
  if (spec.groupKey !== undefined && typeof spec.groupKey !== "function") throw new TypeError(`${where} '${spec.name}': groupKey must be a function`);
  if (spec.result !== undefined && !isSchema(spec.result)) throw new TypeError(`${where} '${spec.name}': result must be a zod schema`);
  const d = spec.defaults;
  if (d !== undefined) {
    if (d.leaseSeconds !== undefined && !(Number.isInteger(d.leaseSeconds) && d.leaseSeconds >= 1 && d.leaseSeconds <= 86_400)) {
      throw new TypeError(`${where} '${spec.name}': defaults.leaseSeconds must be an integer 1..86400`);
    }
    if (d.maxAttempts !== undefined && !(Number.isInteger(d.maxAttempts) && d.maxAttempts >= 1 && d.maxAttempts <= 1000)) {
      throw new TypeError(`${where} '${spec.name}': defaults.maxAttempts must be an integer 1..1000`);
    }
  }
}

/** Duck-typed so a plugin built against another copy of zod still works. */
function isSchema(value: unknown): value is z.ZodType {
  return typeof value === "object" && value !== null && typeof (value as { safeParse?: unknown }).safeParse === "function";
}

/** Only the spec part of a job type (what the coordinator keeps). */
export function specOf(type: JobTypeSpec): JobTypeSpec {
  const { name, payload, result, defaults, description, groupKey } = type;
  return {
    name,
    payload,
    ...(result ? { result } : {}),
    ...(defaults ? { defaults } : {}),
    ...(description ? { description } : {}),
    ...(groupKey ? { groupKey } : {}),
  };
}
