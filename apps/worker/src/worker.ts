import type { JobType, SpawnJob } from "@drover/jobs";
import { createDroverClient, DATASET_WORKFLOW_TYPE, droverErrorCode, MAX_JSON_BYTES, projectQueue, type DroverClient, type JobError, type Lease } from "@drover/protocol";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pino, { type Logger } from "pino";
import type { WorkerConfig } from "./config.ts";
import { hostInfo } from "./host-info.ts";
import { runJob, RunningJob, type Outcome } from "./job-runner.ts";
import { backoffMs, untilReachable, type RetryHooks } from "./retry.ts";

export const WORKER_VERSION = "0.1.0";

/** Types that run code from whoever submits: leased only when named. */
const OPT_IN_TYPES = new Set(["exec", DATASET_WORKFLOW_TYPE]);

/** Codes with which the coordinator refuses a request's content (retrying it cannot help). */
const INPUT_REFUSALS = new Set(["INVALID_INPUT", "UNKNOWN_JOB_TYPE", "PAYLOAD_INVALID", "PAYLOAD_TOO_LARGE"]);

type CompleteItem = { jobId: number; attempt: number; leaseId: string; result?: unknown; counts?: Record<string, number>; spawn?: SpawnJob[] };
type FailItem = { jobId: number; attempt: number; leaseId: string; error: JobError; retryable: boolean; requeueTo?: "parent"; counts?: Record<string, number> };

/** Sums a worker's work so far (tests and `drover up` print it). */
export interface WorkerStats {
  leased: number;
  succeeded: number;
  failed: number;
  abandoned: number;
  conflicts: number;
}

/**
 * The generic worker: leases jobs in batches to fill free slots (long-poll), runs each
 * through its plugin, heartbeats every running lease in one call at a third of the lease
 * time, and reports outcomes in batches — asking for the next jobs in the same round trip.
 *
 * Rules that must hold:
 * - never more than `concurrency` jobs run or are being claimed at once;
 * - a job whose lease was lost or which was cancelled is aborted and never reported;
 * - while the coordinator is unreachable, running jobs go on and reports wait (with backoff);
 * - on shutdown: no new leases, running jobs get the grace period, the rest are released.
 */
export class Worker {
  readonly stats: WorkerStats = { leased: 0, succeeded: 0, failed: 0, abandoned: 0, conflicts: 0 };
  private readonly client: DroverClient;
  private readonly types: Map<string, JobType>;
  private readonly typeNames: string[];
  /** Only these queues, when set. */
  private readonly queueNames: string[] | undefined;
  /** Keyed by lease id: two attempts of one job may overlap here (an old one still winding down). */
  private readonly running = new Map<string, RunningJob>();
  /** Finished, report not yet acknowledged: still heartbeated, so a slow report cannot lose the lease. */
  private readonly unreported = new Map<string, RunningJob>();
  private readonly log: Logger;
  private readonly stopLeasing = new AbortController();
  /** Aborted last, at the end of shutdown: bounds the retries of reports and bye. */
  private readonly stopReporting = new AbortController();
  private readonly link = { down: false };
  private readonly hooks: RetryHooks;
  private workerId: string | undefined;
  /** Slots held by an acquire in flight. */
  private reserved = 0;
  private pendingCompletes: CompleteItem[] = [];
  private pendingFails: FailItem[] = [];
  private flushing: Promise<void> | undefined;
  private wakeLoop: (() => void) | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private nextBeatAt = 0;
  private beating = false;
  private stopping: Promise<void> | undefined;
  private readonly workRoot: string;

  constructor(
    private readonly config: WorkerConfig,
    jobTypes: readonly JobType[],
    logger?: Logger,
  ) {
    this.log = logger ?? pino({ level: config.logLevel, name: "drover-worker" });
    this.client = createDroverClient({ url: config.url, token: config.token });
    this.types = new Map(jobTypes.map((t) => [t.name, t]));
    // `exec` and `dataset.workflow` run code from whoever submits: a worker takes them only
    // when asked by name (or, for workflows, by project).
    if (config.project !== undefined && config.types !== undefined && config.types.join() !== DATASET_WORKFLOW_TYPE) {
      throw new Error(`types: a --project worker runs '${DATASET_WORKFLOW_TYPE}' only; drop --types`);
    }
    if (config.project !== undefined && config.queues !== undefined) throw new Error("queues: a --project worker leases from its project's queue; drop --queues");
    this.typeNames = config.project !== undefined ? [DATASET_WORKFLOW_TYPE] : (config.types ?? jobTypes.map((t) => t.name).filter((n) => !OPT_IN_TYPES.has(n)));
    this.queueNames = config.project !== undefined ? [projectQueue(config.project)] : config.queues;
    const unknown = this.typeNames.filter((n) => !this.types.has(n));
    if (unknown.length) throw new Error(`types: no plugin defines ${unknown.join(", ")} (loaded: ${[...this.types.keys()].join(", ")})`);
    if (this.typeNames.length === 0) throw new Error("types: this worker would lease nothing");
    // Absolute: plugins compare resolved paths against their work dir.
    this.workRoot = resolve(config.workDir ?? tmpdir());
    this.hooks = {
      onDown: (error) => this.log.warn({ err: (error as Error).message }, "coordinator unreachable; retrying with backoff, running jobs go on"),
      onUp: () => this.log.info("coordinator reachable again"),
    };
  }

  get id(): string | undefined {
    return this.workerId;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Registers, then leases and runs jobs until shutdown() completes. */
  async run(): Promise<void> {
    try {
      await this.register();
    } catch (error) {
      if (this.stopLeasing.signal.aborted) return this.stopping; // shut down before it got going
      throw error;
    }
    if (this.stopLeasing.signal.aborted) return this.stopping;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), 200);
    this.log.info({ workerId: this.workerId, types: this.typeNames, queues: this.queueNames, concurrency: this.config.concurrency }, "worker started");
    await this.acquireLoop();
    await this.stopping;
  }

  private async register(): Promise<void> {
    const signal = this.stopLeasing.signal;
    const { workerId } = await untilReachable(
      () =>
        this.client.workers.register.mutate({
          name: this.config.name,
          labels: this.config.labels,
          types: this.typeNames,
          concurrency: this.config.concurrency,
          version: WORKER_VERSION,
          host: hostInfo(),
          ...(this.workerId ? { workerId: this.workerId } : {}),
        }),
      signal,
      this.hooks,
      this.link,
    );
    this.workerId = workerId;
  }

  private freeSlots(): number {
    return this.config.concurrency - this.running.size - this.reserved;
  }

  private wake(): void {
    const wake = this.wakeLoop;
    this.wakeLoop = undefined;
    wake?.();
  }

  private queueFilter(): { queues?: string[] } {
    return this.queueNames === undefined ? {} : { queues: this.queueNames };
  }

  private async acquireLoop(): Promise<void> {
    const signal = this.stopLeasing.signal;
    let failures = 0;
    while (!signal.aborted) {
      const free = this.freeSlots();
      // While a report is in flight it may bring the next leases: wait for it.
      if (free <= 0 || this.flushing) {
        await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        continue;
      }
      this.reserved = free;
      let leases: Lease[] = [];
      try {
        leases = await untilReachable(
          () => this.client.leases.acquire.mutate({ workerId: this.workerId!, types: this.typeNames, ...this.queueFilter(), max: free, waitMs: this.config.pollMs }, { signal }),
          signal,
          this.hooks,
          this.link,
        );
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        if (droverErrorCode(error) === "NOT_FOUND") {
          this.log.warn("coordinator does not know this worker (its database was reset?); registering again");
          this.workerId = undefined;
          await this.register().catch(() => undefined);
        } else {
          this.log.error({ err: (error as Error).message, code: droverErrorCode(error) }, "acquire failed");
          await sleep(backoffMs(failures++), undefined, { signal }).catch(() => undefined);
        }
      } finally {
        this.reserved = 0;
      }
      this.start(leases);
    }
  }

  private start(leases: Lease[]): void {
    for (const lease of leases) {
      const type = this.types.get(lease.type);
      const job = new RunningJob(lease);
      this.running.set(lease.leaseId, job);
      this.stats.leased++;
      this.nextBeatAt = Math.min(this.nextBeatAt || Infinity, Date.now() + (lease.leaseSeconds * 1000) / 3);
      const outcome: Promise<Outcome> = type
        ? runJob(job, type, this.workRoot, this.client)
        : Promise.resolve({ kind: "failed", error: { message: `this worker has no plugin for '${lease.type}'`, code: "UNKNOWN_JOB_TYPE" }, retryable: true });
      void outcome.then((o) => this.finish(job, o));
    }
  }

  private finish(job: RunningJob, outcome: Outcome): void {
    this.running.delete(job.lease.leaseId);
    const ref = { jobId: job.lease.jobId, attempt: job.lease.attempt, leaseId: job.lease.leaseId };
    if (outcome.kind === "abandoned") {
      this.stats.abandoned++;
      this.log.info({ jobId: ref.jobId, why: outcome.why }, "job abandoned");
      this.wake();
      return;
    }
    this.unreported.set(job.lease.leaseId, job);
    // Lines not yet sent with a heartbeat go with the outcome, so a short job's log is whole.
    const lines = lastLines(job.logs.splice(0), OUTCOME_LOG_BYTES);
    const logs = lines.length > 0 ? { logs: lines } : {};
    const logBytes = lines.reduce((n, l) => n + Buffer.byteLength(l) + 3, 0);
    if (outcome.kind === "succeeded") {
      const text = outcome.result === undefined ? "" : (JSON.stringify(outcome.result) ?? "");
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_JSON_BYTES) {
        this.pendingFails.push({ ...ref, ...logs, error: { message: `result is over ${MAX_JSON_BYTES} bytes of JSON; write big outputs to storage`, code: "RESULT_TOO_LARGE" }, retryable: false });
      } else {
        const item: CompleteItem = {
          ...ref,
          ...logs,
          ...(outcome.result === undefined ? {} : { result: outcome.result }),
          ...(outcome.counts ? { counts: outcome.counts } : {}),
          ...(outcome.spawn ? { spawn: outcome.spawn } : {}),
        };
        const extra = outcome.spawn ? Buffer.byteLength(JSON.stringify(outcome.spawn)) : 0;
        reportBytes.set(item, bytes + extra + logBytes); // measured once here; takeChunk reads it
        this.pendingCompletes.push(item);
      }
    } else {
      this.log.warn({ jobId: ref.jobId, attempt: ref.attempt, err: outcome.error.message, retryable: outcome.retryable }, "job failed");
      this.pendingFails.push({
        ...ref,
        ...logs,
        error: outcome.error,
        retryable: outcome.retryable,
        ...(outcome.requeueTo ? { requeueTo: outcome.requeueTo } : {}),
        ...(outcome.counts ? { counts: outcome.counts } : {}),
      });
    }
    this.flush();
  }

  /** Starts a report unless one is in flight; items arriving meanwhile go in the next batch. */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = (async () => {
      while (this.pendingCompletes.length || this.pendingFails.length) {
        await this.report(takeChunk(this.pendingCompletes), takeChunk(this.pendingFails));
      }
    })().finally(() => {
      this.flushing = undefined;
      this.wake();
    });
  }

  private async report(completes: CompleteItem[], fails: FailItem[]): Promise<void> {
    const signal = this.stopReporting.signal;
    const free = this.stopLeasing.signal.aborted ? 0 : this.freeSlots();
    let next = free > 0 ? { types: this.typeNames, ...this.queueFilter(), max: free } : undefined;
    const send = async (kind: "complete" | "fail", items: CompleteItem[] | FailItem[]) => {
      const input = { workerId: this.workerId!, leases: items, ...(next ? { next } : {}) };
      next = undefined; // only one call asks for more
      // A retry of the same report must not ask for more jobs again: the first try may have
      // claimed them already, its answer lost on the way.
      let attempt = 0;
      const call = () => {
        const body = attempt++ === 0 ? input : { workerId: input.workerId, leases: input.leases };
        return kind === "complete"
          ? this.client.leases.complete.mutate(body as { workerId: string; leases: CompleteItem[] })
          : this.client.leases.fail.mutate(body as { workerId: string; leases: FailItem[] });
      };
      try {
        const out = await untilReachable(call, signal, this.hooks, this.link);
        for (const r of out.results) {
          if (r.outcome === "conflict") {
            this.stats.conflicts++;
            this.log.warn({ jobId: r.jobId, reason: r.message }, "outcome refused: the lease was no longer current");
          } else if (kind === "complete") this.stats.succeeded++;
          else this.stats.failed++;
        }
        this.start(out.next);
      } catch (error) {
        const code = droverErrorCode(error);
        if (code === "LEASE_CONFLICT") {
          this.stats.conflicts++;
          this.log.warn({ jobId: items[0]?.jobId, reason: (error as Error).message }, "outcome refused: the lease was no longer current");
        } else if (kind === "complete" && code !== undefined && INPUT_REFUSALS.has(code)) {
          // The coordinator refused what a completion carried (a spawned job of an unknown
          // type, a payload that does not fit its schema): the job cannot succeed as it
          // stands, so it fails for good with the reason. In a batch, find the culprit.
          if (items.length > 1) {
            for (const item of items) await send("complete", [item]);
          } else {
            const item = items[0] as CompleteItem;
            this.pendingFails.push({ jobId: item.jobId, attempt: item.attempt, leaseId: item.leaseId, error: { message: `completion refused: ${(error as Error).message}`, code }, retryable: false });
            refused.add(item.leaseId);
          }
        } else {
          this.log.error({ err: (error as Error).message, code: droverErrorCode(error), jobs: items.map((i) => i.jobId) }, `could not ${kind} jobs; their leases will expire and they will run again`);
        }
      }
    };
    const refused = new Set<string>();
    if (completes.length) await send("complete", completes);
    if (fails.length) await send("fail", fails);
    // A refused completion is still unreported: its fail goes in the next report.
    for (const item of [...completes, ...fails]) if (!refused.has(item.leaseId)) this.unreported.delete(item.leaseId);
  }

  /** One call for all running leases, at a third of the shortest lease. */
  private async heartbeat(): Promise<void> {
    if (this.beating || (this.running.size === 0 && this.unreported.size === 0) || Date.now() < this.nextBeatAt || !this.workerId) return;
    this.beating = true;
    const jobs = [...this.running.values(), ...this.unreported.values()];
    const items = jobs.map((j) => {
      const logs = j.logs.splice(0);
      return { jobId: j.lease.jobId, attempt: j.lease.attempt, leaseId: j.lease.leaseId, ...(j.progress ? { progress: j.progress } : {}), ...(logs.length ? { logs } : {}) };
    });
    const shortest = Math.min(...jobs.map((j) => j.lease.leaseSeconds));
    try {
      // A heartbeat that hangs (a half-open connection) must not stop the next ones.
      const out = await this.client.leases.heartbeat.mutate({ workerId: this.workerId, leases: items }, { signal: AbortSignal.timeout(Math.max(1000, (shortest * 1000) / 3)) });
      if (this.link.down) {
        this.link.down = false;
        this.hooks.onUp?.();
      }
      this.nextBeatAt = Date.now() + (shortest * 1000) / 3;
      for (const ref of out.lost) this.running.get(ref.leaseId)?.end("lost");
      for (const ref of out.cancelled) this.running.get(ref.leaseId)?.end("cancelled");
    } catch (error) {
      // Put the log lines back so they go with the next beat; try again soon.
      // At most MAX_LOG_LINES stay pending (the protocol's limit per lease): the oldest go.
      for (const [i, j] of jobs.entries()) j.logs = [...(items[i]!.logs ?? []), ...j.logs].slice(-MAX_LOG_LINES);
      const code = droverErrorCode(error);
      if (code && code !== "UNAVAILABLE") {
        // The coordinator answered and refused: not an outage. A revoked token or a reset
        // database will not heal by retrying; say so loudly, and re-register on NOT_FOUND.
        this.log.error({ code, err: (error as Error).message }, "heartbeat refused");
        if (code === "NOT_FOUND") void this.register().catch(() => undefined);
      } else if (!this.link.down) {
        this.link.down = true;
        this.hooks.onDown?.(error);
      }
      this.nextBeatAt = Date.now() + Math.min(2000, (shortest * 1000) / 6);
    } finally {
      this.beating = false;
    }
  }

  /**
   * Stops leasing, lets running jobs finish within `graceMs`, aborts the rest, reports
   * what finished, and says bye so the coordinator releases the remaining leases at once.
   */
  shutdown(graceMs = this.config.shutdownGraceMs): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ running: this.running.size, graceMs }, "shutting down: no new leases");
      this.stopLeasing.abort();
      this.wake();
      const deadline = Date.now() + graceMs;
      while (this.running.size > 0 && Date.now() < deadline) await sleep(Math.min(100, deadline - Date.now()));
      for (const job of this.running.values()) job.end("shutdown");
      const hardDeadline = Date.now() + 5000;
      while ((this.running.size > 0 || this.flushing) && Date.now() < hardDeadline) await sleep(20);
      clearInterval(this.heartbeatTimer);
      if (this.workerId) {
        try {
          const { released } = await this.client.workers.bye.mutate({ workerId: this.workerId });
          this.log.info({ released }, "said bye");
        } catch (error) {
          this.log.warn({ err: (error as Error).message }, "bye failed; the coordinator will reap the leases when they expire");
        }
      }
      this.stopReporting.abort();
    })();
    return this.stopping;
  }
}

/** Most leases in one report, and the JSON bytes a report aims to stay under (the coordinator's body limit is 16 MiB). */
const REPORT_MAX_ITEMS = 1000;
const REPORT_MAX_BYTES = 8 * 1024 * 1024;

/** JSON size of each pending completion's result, measured when the job finished. */
const reportBytes = new WeakMap<object, number>();

/** Log bytes an outcome carries at most; older lines of a chatty last stretch are dropped. */
const OUTCOME_LOG_BYTES = 1024 * 1024;

/** Log lines one heartbeat or outcome may carry (the protocol's limit). */
const MAX_LOG_LINES = 1000;

/** The last lines of `lines` that fit in `max` bytes and MAX_LOG_LINES, with a note of what was dropped. */
function lastLines(lines: string[], max: number): string[] {
  let bytes = 0;
  let from = lines.length;
  while (from > 0 && lines.length - from < MAX_LOG_LINES - 1 && bytes + Buffer.byteLength(lines[from - 1]!) <= max) bytes += Buffer.byteLength(lines[--from]!);
  return from === 0 ? lines : [`(${from} earlier log lines dropped)`, ...lines.slice(from)];
}

/** Takes the first items of `queue` that fit in one report. */
function takeChunk<T extends { result?: unknown; error?: unknown }>(queue: T[]): T[] {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < REPORT_MAX_ITEMS) {
    const item = queue[n]!;
    const size = 200 + (reportBytes.get(item) ?? JSON.stringify(item).length);
    if (n > 0 && bytes + size > REPORT_MAX_BYTES) break;
    bytes += size;
    n++;
  }
  return queue.splice(0, n);
}
