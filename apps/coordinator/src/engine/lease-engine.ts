import type Database from "better-sqlite3";
import { DroverError, type ClaimNext, type JobError, type JobSubmitParsed, type LeaseRecord, type LeaseRef, type SettleOutcome } from "@drover/protocol";
import { leaseFromRow, type JobRow } from "../db/rows.ts";
import { userJson } from "../json.ts";
import { retryDelayMs } from "./backoff.ts";
import { CounterBook } from "./counters.ts";
import { JobInserter, type PreparedJob } from "./insert-jobs.ts";
import { EventLog } from "./events.ts";
import { LimitedClaims, type ClaimRow } from "./limits.ts";
import type { EngineState } from "./state.ts";
import { StatsBook, type StatsEntry } from "./stats.ts";

type CurrentRow = Pick<JobRow, "id" | "status" | "attempts" | "leaseId" | "maxAttempts" | "type" | "queue" | "leaseSeconds" | "workerId" | "createdBy" | "parentId">;

export interface FailRequest extends LeaseRef {
  error: JobError;
  retryable: boolean;
  /** Fail this job for good and reopen the job that spawned it. */
  requeueTo?: "parent" | undefined;
  /** Counts of the failed attempt: stats windows only. */
  counts?: Record<string, number> | undefined;
  logs?: string[] | undefined;
}

export interface CompleteRequest extends LeaseRef {
  result?: unknown;
  counts?: Record<string, number> | undefined;
  spawn?: JobSubmitParsed[] | undefined;
  logs?: string[] | undefined;
}

/**
 * The lease rules, each a single SQLite transaction. The hot statements are prepared SQL
 * over the Drizzle-managed schema: they run thousands of times a second, and the claim
 * must name the partial index (`status = 'queued'` literally) for SQLite to use it.
 *
 * Rules that must hold:
 * - only the current lease (job id + attempt + lease id, status leased) may settle a job;
 * - a repeat of a settle that already happened answers `repeat` and changes nothing;
 * - anything else is a conflict and changes nothing;
 * - every state change appends a job_events row in the same transaction.
 */
export class LeaseEngine {
  private readonly client: Database.Database;
  private readonly events: EventLog;
  private readonly stmts;
  private readonly inserter: JobInserter;
  private readonly counters: CounterBook;
  private readonly stats: StatsBook;
  private readonly limited: LimitedClaims;

  constructor(private readonly state: EngineState) {
    this.client = state.db.$client;
    this.events = new EventLog(this.client);
    this.inserter = new JobInserter(state);
    this.counters = new CounterBook(this.client);
    this.stats = new StatsBook(this.client);
    this.limited = new LimitedClaims(this.client);
    const c = this.client;
    this.stmts = {
      candidates: c.prepare(
        `SELECT id, type, queue, payload, lease_seconds AS leaseSeconds, max_attempts AS maxAttempts, priority, run_after AS runAfter
         FROM jobs INDEXED BY jobs_claim_idx
         WHERE status = 'queued' AND type = ? AND queue = ? AND run_after <= ?
         ORDER BY priority DESC, run_after, id LIMIT ?`,
      ),
      runnable: c.prepare(
        `SELECT 1 FROM jobs INDEXED BY jobs_claim_idx WHERE status = 'queued' AND type = ? AND queue = ? AND run_after <= ? LIMIT 1`,
      ),
      // Set-based: one statement leases a whole batch (ids as a JSON array). Lease ids are
      // random: a worker must not be able to guess another worker's lease.
      leaseMany: c.prepare(
        `UPDATE jobs SET status = 'leased', attempts = attempts + 1, lease_id = lower(hex(randomblob(12))),
           lease_expires_at = @now + lease_seconds * 1000, worker_id = @worker, started_at = @now, updated_at = @now,
           progress_fraction = NULL, progress_message = NULL
         WHERE id IN (SELECT value FROM json_each(@ids)) AND status = 'queued'
         RETURNING id, attempts, lease_id AS leaseId, lease_expires_at AS leaseExpiresAt`,
      ),
      // One job_events row per [jobId, attempt] pair of a JSON array.
      eventsMany: c.prepare(
        `INSERT INTO job_events (job_id, at, kind, attempt, worker_id, data)
         SELECT value ->> 0, @at, @kind, value ->> 1, @worker, NULL FROM json_each(@rows)`,
      ),
      currentMany: c.prepare(
        `SELECT id, status, attempts, lease_id AS leaseId, max_attempts AS maxAttempts, type, queue, lease_seconds AS leaseSeconds, worker_id AS workerId,
           created_by AS createdBy, parent_id AS parentId
         FROM jobs WHERE id IN (SELECT value FROM json_each(?))`,
      ),
      // [jobId, resultJsonText | null] pairs of a JSON array.
      succeedMany: c.prepare(
        `UPDATE jobs SET status = 'succeeded', result = j.result, error = NULL, finished_at = @now, updated_at = @now,
           lease_expires_at = NULL, progress_fraction = 1
         FROM (SELECT value ->> 0 AS id, value ->> 1 AS result FROM json_each(@items)) AS j WHERE jobs.id = j.id`,
      ),
      current: c.prepare(
        `SELECT id, status, attempts, lease_id AS leaseId, max_attempts AS maxAttempts, type, queue, lease_seconds AS leaseSeconds, worker_id AS workerId,
           created_by AS createdBy, parent_id AS parentId FROM jobs WHERE id = ?`,
      ),
      // Reopens a finished job (a later stage sent it back). attempts keeps counting (it is
      // the fencing token) and the job gets a fresh set of attempts, as jobs.retry does.
      reopen: c.prepare(
        `UPDATE jobs SET status = 'queued', result = NULL, error = NULL, finished_at = NULL, run_after = ?, updated_at = ?,
           lease_id = NULL, lease_expires_at = NULL, worker_id = NULL, max_attempts = attempts + max_attempts
         WHERE id = ? AND status IN ('succeeded', 'failed', 'cancelled')
         RETURNING type, queue, attempts`,
      ),
      failForGood: c.prepare(
        `UPDATE jobs SET status = 'failed', error = ?, finished_at = ?, updated_at = ?, lease_expires_at = NULL WHERE id = ?`,
      ),
      requeue: c.prepare(
        `UPDATE jobs SET status = 'queued', error = ?, run_after = ?, updated_at = ?, lease_expires_at = NULL, worker_id = NULL WHERE id = ?`,
      ),
      extend: c.prepare(`UPDATE jobs SET lease_expires_at = ?, updated_at = ? WHERE id = ?`),
      progress: c.prepare(`UPDATE jobs SET progress_fraction = ?, progress_message = ? WHERE id = ?`),
      log: c.prepare(`INSERT INTO job_logs (job_id, attempt, at, line) VALUES (?, ?, ?, ?)`),
      release: c.prepare(
        `UPDATE jobs SET status = 'queued', lease_id = NULL, lease_expires_at = NULL, worker_id = NULL, run_after = ?, updated_at = ? WHERE id = ?`,
      ),
      leasedByWorker: c.prepare(`SELECT id, attempts, type, queue FROM jobs INDEXED BY jobs_worker_idx WHERE status = 'leased' AND worker_id = ?`),
      expired: c.prepare(
        `SELECT id, attempts, max_attempts AS maxAttempts, lease_seconds AS leaseSeconds, type, queue, worker_id AS workerId, created_by AS createdBy
         FROM jobs INDEXED BY jobs_lease_expiry_idx WHERE status = 'leased' AND lease_expires_at < ? LIMIT ?`,
      ),
      expire: c.prepare(
        `UPDATE jobs SET status = ?, error = ?, run_after = ?, finished_at = ?, updated_at = ?, lease_id = NULL, lease_expires_at = NULL, worker_id = NULL
         WHERE id = ? AND status = 'leased'`,
      ),
    };
  }

  /** Claims up to `max` runnable jobs of `types` for `workerId`. Call inside a transaction. */
  private claimIn(workerId: string, types: readonly string[], max: number, now: number, queues?: readonly string[]): LeaseRecord[] {
    const pairs = this.state.claimablePairs(types, now, queues);
    if (pairs.length === 0) return [];
    let rows: ClaimRow[] = [];
    // Queues with caps share one budget per claim: their leased counts are read once.
    let budget: ReturnType<LimitedClaims["budget"]> | undefined;
    for (const [type, queue] of pairs) {
      const limits = this.state.limitsOf(queue);
      if (limits === undefined) rows.push(...(this.stmts.candidates.all(type, queue, now, max) as ClaimRow[]));
      else rows.push(...(budget ??= this.limited.budget()).pick(type, queue, now, max, limits));
    }
    if (pairs.length > 1) {
      rows.sort((a, b) => b.priority - a.priority || a.runAfter - b.runAfter || a.id - b.id);
      rows = rows.slice(0, max);
    }
    if (rows.length === 0) return [];
    const updated = this.stmts.leaseMany.all({ now, worker: workerId, ids: JSON.stringify(rows.map((r) => r.id)) }) as {
      id: number;
      attempts: number;
      leaseId: string;
      leaseExpiresAt: number;
    }[];
    this.stmts.eventsMany.run({ at: now, kind: "leased", worker: workerId, rows: JSON.stringify(updated.map((u) => [u.id, u.attempts])) });
    const byId = new Map(updated.map((u) => [u.id, u]));
    // In claim order (RETURNING's order is not guaranteed).
    return rows.flatMap((row) => {
      const u = byId.get(row.id);
      return u ? [leaseFromRow({ ...row, leaseId: u.leaseId, attempts: u.attempts, leaseExpiresAt: u.leaseExpiresAt })] : [];
    });
  }

  /** `queues`, when given, limits the claim to those queues (`drover worker --project P`). */
  claim(workerId: string, types: readonly string[], max: number, queues?: readonly string[]): LeaseRecord[] {
    // An empty claim (every long-poll wake-up with nothing runnable) needs no write
    // transaction. better-sqlite3 is synchronous, so nothing in this process can change
    // the queue between this check and the transaction below.
    const now = Date.now();
    if (!this.anyRunnable(types, now, queues)) return [];
    return this.client.transaction(() => this.claimIn(workerId, types, max, now, queues)).immediate();
  }

  private anyRunnable(types: readonly string[], now: number, queues?: readonly string[]): boolean {
    for (const [type, queue] of this.state.claimablePairs(types, now, queues)) {
      if (!this.stmts.runnable.get(type, queue, now)) continue;
      const limits = this.state.limitsOf(queue);
      if (limits === undefined || this.limited.hasRoom(queue, limits)) return true;
    }
    return false;
  }

  /**
   * The fencing check: the lease id and attempt are the job's current ones, and the job is
   * held by this worker (a requeued job has no worker; only its repeat can still match).
   */
  private matches(row: CurrentRow | undefined, ref: LeaseRef, workerId: string): row is CurrentRow {
    return row !== undefined && row.leaseId === ref.leaseId && row.attempts === ref.attempt && (row.workerId === null || row.workerId === workerId);
  }

  /**
   * Completes leases; then, in the same transaction, inserts the follow-up jobs they spawn,
   * adds their counts, and claims the worker's next jobs. A stale lease spawns and counts
   * nothing. A single stale lease throws LEASE_CONFLICT; in a batch each is reported.
   */
  complete(workerId: string, items: CompleteRequest[], next?: ClaimNext) {
    const results = items.map((item, i) => (item.result === undefined ? null : userJson(item.result, `leases.${i}.result`)));
    // Spawned jobs are validated before the transaction: a bad one refuses the whole call.
    const spawns = items.map((item, i) => (item.spawn?.length ? this.inserter.prepare(item.spawn, (j) => `leases.${i}.spawn.${j}.`) : []));
    const announced: { prepared: PreparedJob[]; results: ReturnType<JobInserter["insertIn"]> }[] = [];
    const freed: { queue: string; type: string }[] = [];
    let now = 0;
    const out = this.client
      .transaction(() => {
        now = Date.now();
        const current = new Map(
          (this.stmts.currentMany.all(JSON.stringify(items.map((i) => i.jobId))) as CurrentRow[]).map((r) => [r.id, r]),
        );
        const done: [number, string | null][] = [];
        const events: [number, number][] = [];
        const counted: { type: string; counts?: Record<string, number> | undefined }[] = [];
        const stats: StatsEntry[] = [];
        const settled = new Set<number>();
        const outcomes: SettleOutcome[] = items.map((item, i) => {
          const row = current.get(item.jobId);
          if (!this.matches(row, item, workerId)) return conflict(item.jobId, row);
          if (row.status === "succeeded" || settled.has(item.jobId)) return { jobId: item.jobId, outcome: "repeat", status: "succeeded" };
          if (row.status !== "leased") return conflict(item.jobId, row);
          settled.add(item.jobId);
          this.appendLogs(item.jobId, row.attempts, now, item.logs);
          done.push([item.jobId, results[i] ?? null]);
          events.push([item.jobId, row.attempts]);
          counted.push({ type: row.type, counts: item.counts });
          stats.push({ queue: row.queue, user: row.createdBy, event: "succeeded", counts: item.counts });
          freed.push(row);
          if (spawns[i]!.length > 0) announced.push({ prepared: spawns[i]!, results: this.inserter.insertIn(spawns[i]!, row.createdBy, item.jobId, now) });
          return { jobId: item.jobId, outcome: "ok", status: "succeeded" };
        });
        if (done.length) {
          this.stmts.succeedMany.run({ now, items: JSON.stringify(done) });
          this.stmts.eventsMany.run({ at: now, kind: "succeeded", worker: workerId, rows: JSON.stringify(events) });
          this.counters.add(workerId, counted, now);
          this.stats.record(now, stats);
        }
        throwIfSingleConflict(outcomes);
        const leases = next ? this.claimIn(workerId, next.types, next.max, now, next.queues) : [];
        return { results: outcomes, next: leases };
      })
      .immediate();
    for (const a of announced) this.inserter.announce(a.prepared, a.results, now);
    for (const { queue, type } of freed) this.state.slotsFreed(queue, type);
    return out;
  }

  /** Fails leases: requeued with backoff while attempts remain and the error is retryable. */
  fail(workerId: string, items: FailRequest[], next?: ClaimNext) {
    const { retryBaseMs, retryMaxMs } = this.state.settings;
    const reopenedTypes: { type: string; queue: string }[] = [];
    const freed: { queue: string; type: string }[] = [];
    const out = this.client
      .transaction(() => {
        const now = Date.now();
        const stats: StatsEntry[] = [];
        const settled = (row: CurrentRow, event: StatsEntry["event"], counts: Record<string, number> | undefined) => {
          stats.push({ queue: row.queue, user: row.createdBy, event, counts });
          freed.push(row);
        };
        const outcomes: SettleOutcome[] = items.map((item) => {
          const row = this.stmts.current.get(item.jobId) as CurrentRow | undefined;
          if (!this.matches(row, item, workerId)) return conflict(item.jobId, row);
          if (row.status === "failed" || row.status === "queued") return { jobId: item.jobId, outcome: "repeat", status: row.status };
          if (row.status !== "leased") return conflict(item.jobId, row);
          this.appendLogs(item.jobId, row.attempts, now, item.logs);
          const error = JSON.stringify({ ...item.error, retryable: item.retryable });
          if (item.requeueTo === "parent") {
            if (row.parentId === null) throw new DroverError("INVALID_STATE", `job ${item.jobId} has no parent job to requeue to`, { details: { jobId: item.jobId } });
            this.stmts.failForGood.run(error, now, now, item.jobId);
            settled(row, "failed", item.counts);
            this.events.append(item.jobId, now, "failed", row.attempts, workerId, { ...item.error, requeuedParent: row.parentId });
            const reopened = this.stmts.reopen.get(now, now, row.parentId) as { type: string; queue: string; attempts: number } | undefined;
            if (reopened !== undefined) {
              this.events.append(row.parentId, now, "reopened", reopened.attempts, workerId, { byChild: item.jobId, error: item.error });
              reopenedTypes.push(reopened);
            }
            return { jobId: item.jobId, outcome: "ok", status: "failed" };
          }
          if (!item.retryable || row.attempts >= row.maxAttempts) {
            this.stmts.failForGood.run(error, now, now, item.jobId);
            settled(row, "failed", item.counts);
            this.events.append(item.jobId, now, "failed", row.attempts, workerId, item.error);
            return { jobId: item.jobId, outcome: "ok", status: "failed" };
          }
          const runAfter = now + retryDelayMs(row.attempts, retryBaseMs, retryMaxMs);
          this.stmts.requeue.run(error, runAfter, now, item.jobId);
          settled(row, "retried", item.counts);
          this.events.append(item.jobId, now, "retry_scheduled", row.attempts, workerId, { error: item.error, runAfter });
          this.state.wakeups.notifyAt(runAfter);
          return { jobId: item.jobId, outcome: "ok", status: "queued" };
        });
        this.stats.record(now, stats);
        throwIfSingleConflict(outcomes);
        const leases = next ? this.claimIn(workerId, next.types, next.max, now, next.queues) : [];
        return { results: outcomes, next: leases };
      })
      .immediate();
    for (const { queue, type } of freed) this.state.slotsFreed(queue, type);
    for (const { type, queue } of reopenedTypes) {
      this.state.noteQueue(type, queue);
      this.state.wakeups.notify(type, 1);
    }
    return out;
  }

  private appendLogs(jobId: number, attempt: number, now: number, lines: string[] | undefined): void {
    for (const line of lines ?? []) this.stmts.log.run(jobId, attempt, now, line);
  }

  /** Extends current leases; reports the lost and the cancelled. Progress and logs ride along. */
  heartbeat(workerId: string, items: (LeaseRef & { progress?: { fraction: number; message?: string | undefined } | undefined; logs?: string[] | undefined })[]) {
    return this.client
      .transaction(() => {
        const now = Date.now();
        const extended: { jobId: number; expiresAt: number }[] = [];
        const lost: LeaseRef[] = [];
        const cancelled: LeaseRef[] = [];
        for (const item of items) {
          const ref = { jobId: item.jobId, attempt: item.attempt, leaseId: item.leaseId };
          const row = this.stmts.current.get(item.jobId) as CurrentRow | undefined;
          if (!this.matches(row, item, workerId)) {
            lost.push(ref);
            continue;
          }
          if (row.status === "cancelled") {
            cancelled.push(ref);
            continue;
          }
          if (row.status !== "leased") {
            lost.push(ref);
            continue;
          }
          const expiresAt = now + row.leaseSeconds * 1000;
          this.stmts.extend.run(expiresAt, now, item.jobId);
          if (item.progress) this.stmts.progress.run(item.progress.fraction, item.progress.message ?? null, item.jobId);
          for (const line of item.logs ?? []) this.stmts.log.run(item.jobId, row.attempts, now, line);
          extended.push({ jobId: item.jobId, expiresAt });
        }
        return { extended, lost, cancelled };
      })
      .immediate();
  }

  /** Gives leases back at once (a worker shutting down): the jobs are runnable again now. */
  release(workerId: string, refs: LeaseRef[]): number {
    const types: string[] = [];
    const freed: { queue: string; type: string }[] = [];
    const count = this.client
      .transaction(() => {
        const now = Date.now();
        let n = 0;
        for (const ref of refs) {
          const row = this.stmts.current.get(ref.jobId) as CurrentRow | undefined;
          if (!this.matches(row, ref, workerId) || row.status !== "leased") continue;
          this.stmts.release.run(now, now, ref.jobId);
          this.events.append(ref.jobId, now, "released", row.attempts, workerId);
          types.push(row.type);
          freed.push(row);
          n++;
        }
        return n;
      })
      .immediate();
    for (const type of types) this.state.wakeups.notify(type, 1);
    for (const { queue, type } of freed) this.state.slotsFreed(queue, type);
    return count;
  }

  /** Releases every lease a worker holds (its `bye`). */
  releaseWorker(workerId: string): number {
    const rows = this.stmts.leasedByWorker.all(workerId) as { id: number; attempts: number; type: string }[];
    const refs = rows.map((r) => {
      const current = this.stmts.current.get(r.id) as CurrentRow;
      return { jobId: r.id, attempt: current.attempts, leaseId: current.leaseId ?? "" };
    });
    return refs.length ? this.release(workerId, refs) : 0;
  }

  /**
   * Requeues leases that expired (with backoff), or fails the job for good once it has
   * used maxAttempts, keeping the expiry as its last error. Returns how many it handled.
   */
  reapExpired(limit = 500): number {
    const { retryBaseMs, retryMaxMs } = this.state.settings;
    const freed: { queue: string; type: string }[] = [];
    const n = this.client
      .transaction(() => {
        const now = Date.now();
        this.stats.pruneOld(now);
        const rows = this.stmts.expired.all(now, limit) as (Pick<JobRow, "id" | "attempts" | "maxAttempts" | "leaseSeconds" | "type" | "queue" | "workerId" | "createdBy">)[];
        const stats: StatsEntry[] = [];
        for (const row of rows) {
          const error = { code: "LEASE_EXPIRED", message: `lease expired: no heartbeat for ${row.leaseSeconds}s (attempt ${row.attempts} of ${row.maxAttempts})`, retryable: true };
          if (row.attempts >= row.maxAttempts) {
            this.stmts.expire.run("failed", JSON.stringify(error), now, now, now, row.id);
            this.events.append(row.id, now, "failed", row.attempts, row.workerId, error);
          } else {
            const runAfter = now + retryDelayMs(row.attempts, retryBaseMs, retryMaxMs);
            this.stmts.expire.run("queued", JSON.stringify(error), runAfter, null, now, row.id);
            this.events.append(row.id, now, "expired", row.attempts, row.workerId, { error, runAfter });
            this.state.wakeups.notifyAt(runAfter);
          }
          stats.push({ queue: row.queue, user: row.createdBy, event: row.attempts >= row.maxAttempts ? "failed" : "retried" });
          freed.push(row);
        }
        this.stats.record(now, stats);
        return rows.length;
      })
      .immediate();
    for (const { queue, type } of freed) this.state.slotsFreed(queue, type);
    return n;
  }
}

function conflict(jobId: number, row: CurrentRow | undefined): SettleOutcome {
  const message = row === undefined ? `job ${jobId} does not exist` : `lease is not job ${jobId}'s current lease (job is ${row.status}, attempt ${row.attempts})`;
  return { jobId, outcome: "conflict", ...(row ? { status: row.status } : {}), message };
}

function throwIfSingleConflict(outcomes: SettleOutcome[]): void {
  const only = outcomes.length === 1 ? outcomes[0] : undefined;
  if (only?.outcome === "conflict") throw new DroverError("LEASE_CONFLICT", only.message ?? "stale lease", { details: { jobId: only.jobId } });
}
