import type Database from "better-sqlite3";
import { DroverError, MAX_JSON_BYTES, type JobError, type LeaseRecord, type LeaseRef, type SettleOutcome } from "@drover/protocol";
import { randomBytes } from "node:crypto";
import { leaseFromRow, type JobRow } from "../db/rows.ts";
import { retryDelayMs } from "./backoff.ts";
import { EventLog } from "./events.ts";
import type { EngineState } from "./state.ts";

type ClaimRow = Pick<JobRow, "id" | "type" | "queue" | "payload" | "leaseSeconds" | "maxAttempts" | "priority" | "runAfter">;
type CurrentRow = Pick<JobRow, "id" | "status" | "attempts" | "leaseId" | "maxAttempts" | "type" | "leaseSeconds">;

export interface FailRequest extends LeaseRef {
  error: JobError;
  retryable: boolean;
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
  private readonly leasePrefix = randomBytes(6).toString("hex");
  private leaseCounter = 0;

  constructor(private readonly state: EngineState) {
    this.client = state.db.$client;
    this.events = new EventLog(this.client);
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
      lease: c.prepare(
        `UPDATE jobs SET status = 'leased', attempts = attempts + 1, lease_id = ?, lease_expires_at = ?, worker_id = ?,
           started_at = ?, updated_at = ?, progress_fraction = NULL, progress_message = NULL
         WHERE id = ? AND status = 'queued' RETURNING attempts`,
      ),
      current: c.prepare(
        `SELECT id, status, attempts, lease_id AS leaseId, max_attempts AS maxAttempts, type, lease_seconds AS leaseSeconds FROM jobs WHERE id = ?`,
      ),
      succeed: c.prepare(
        `UPDATE jobs SET status = 'succeeded', result = ?, error = NULL, finished_at = ?, updated_at = ?, lease_expires_at = NULL,
           progress_fraction = 1 WHERE id = ?`,
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
      leasedByWorker: c.prepare(`SELECT id, attempts, type FROM jobs INDEXED BY jobs_worker_idx WHERE status = 'leased' AND worker_id = ?`),
      expired: c.prepare(
        `SELECT id, attempts, max_attempts AS maxAttempts, lease_seconds AS leaseSeconds, type, queue, worker_id AS workerId
         FROM jobs INDEXED BY jobs_lease_expiry_idx WHERE status = 'leased' AND lease_expires_at < ? LIMIT ?`,
      ),
      expire: c.prepare(
        `UPDATE jobs SET status = ?, error = ?, run_after = ?, finished_at = ?, updated_at = ?, lease_id = NULL, lease_expires_at = NULL, worker_id = NULL
         WHERE id = ? AND status = 'leased'`,
      ),
    };
  }

  private nextLeaseId(): string {
    return `${this.leasePrefix}${(++this.leaseCounter).toString(36)}`;
  }

  /** Claims up to `max` runnable jobs of `types` for `workerId`. Call inside a transaction. */
  private claimIn(workerId: string, types: readonly string[], max: number, now: number): LeaseRecord[] {
    const pairs = this.state.claimablePairs(types, now);
    if (pairs.length === 0) return [];
    let rows: ClaimRow[] = [];
    for (const [type, queue] of pairs) rows.push(...(this.stmts.candidates.all(type, queue, now, max) as ClaimRow[]));
    if (pairs.length > 1) {
      rows.sort((a, b) => b.priority - a.priority || a.runAfter - b.runAfter || a.id - b.id);
      rows = rows.slice(0, max);
    }
    const leases: LeaseRecord[] = [];
    for (const row of rows) {
      const leaseId = this.nextLeaseId();
      const expiresAt = now + row.leaseSeconds * 1000;
      const updated = this.stmts.lease.get(leaseId, expiresAt, workerId, now, now, row.id) as { attempts: number } | undefined;
      if (!updated) continue;
      this.events.append(row.id, now, "leased", updated.attempts, workerId);
      leases.push(leaseFromRow({ ...row, leaseId, attempts: updated.attempts, leaseExpiresAt: expiresAt }));
    }
    return leases;
  }

  claim(workerId: string, types: readonly string[], max: number): LeaseRecord[] {
    // An empty claim (every long-poll wake-up with nothing runnable) needs no write
    // transaction. better-sqlite3 is synchronous, so nothing in this process can change
    // the queue between this check and the transaction below.
    const now = Date.now();
    if (!this.anyRunnable(types, now)) return [];
    return this.client.transaction(() => this.claimIn(workerId, types, max, now)).immediate();
  }

  private anyRunnable(types: readonly string[], now: number): boolean {
    for (const [type, queue] of this.state.claimablePairs(types, now)) if (this.stmts.runnable.get(type, queue, now)) return true;
    return false;
  }

  private matches(row: CurrentRow | undefined, ref: LeaseRef): row is CurrentRow {
    return row !== undefined && row.leaseId === ref.leaseId && row.attempts === ref.attempt;
  }

  /**
   * Completes leases; then, in the same transaction, claims the worker's next jobs.
   * A single stale lease throws LEASE_CONFLICT; in a batch each stale lease is reported.
   */
  complete(workerId: string, items: (LeaseRef & { result?: unknown })[], next?: { types: string[]; max: number }) {
    const results = items.map((item) => {
      const text = item.result === undefined ? null : JSON.stringify(item.result);
      if (text !== null && Buffer.byteLength(text) > MAX_JSON_BYTES) {
        throw new DroverError("PAYLOAD_TOO_LARGE", `leases.${items.indexOf(item)}.result: over ${MAX_JSON_BYTES} bytes of JSON; put big results in storage`);
      }
      return text;
    });
    return this.client
      .transaction(() => {
        const now = Date.now();
        const outcomes: SettleOutcome[] = items.map((item, i) => {
          const row = this.stmts.current.get(item.jobId) as CurrentRow | undefined;
          if (!this.matches(row, item)) return conflict(item.jobId, row);
          if (row.status === "succeeded") return { jobId: item.jobId, outcome: "repeat", status: "succeeded" };
          if (row.status !== "leased") return conflict(item.jobId, row);
          this.stmts.succeed.run(results[i], now, now, item.jobId);
          this.events.append(item.jobId, now, "succeeded", row.attempts, workerId);
          return { jobId: item.jobId, outcome: "ok", status: "succeeded" };
        });
        throwIfSingleConflict(outcomes);
        const leases = next ? this.claimIn(workerId, next.types, next.max, now) : [];
        return { results: outcomes, next: leases };
      })
      .immediate();
  }

  /** Fails leases: requeued with backoff while attempts remain and the error is retryable. */
  fail(workerId: string, items: FailRequest[], next?: { types: string[]; max: number }) {
    const { retryBaseMs, retryMaxMs } = this.state.settings;
    const requeued: string[] = [];
    const out = this.client
      .transaction(() => {
        const now = Date.now();
        const outcomes: SettleOutcome[] = items.map((item) => {
          const row = this.stmts.current.get(item.jobId) as CurrentRow | undefined;
          if (!this.matches(row, item)) return conflict(item.jobId, row);
          if (row.status === "failed" || row.status === "queued") return { jobId: item.jobId, outcome: "repeat", status: row.status };
          if (row.status !== "leased") return conflict(item.jobId, row);
          const error = JSON.stringify({ ...item.error, retryable: item.retryable });
          if (!item.retryable || row.attempts >= row.maxAttempts) {
            this.stmts.failForGood.run(error, now, now, item.jobId);
            this.events.append(item.jobId, now, "failed", row.attempts, workerId, item.error);
            return { jobId: item.jobId, outcome: "ok", status: "failed" };
          }
          const runAfter = now + retryDelayMs(row.attempts, retryBaseMs, retryMaxMs);
          this.stmts.requeue.run(error, runAfter, now, item.jobId);
          this.events.append(item.jobId, now, "retry_scheduled", row.attempts, workerId, { error: item.error, runAfter });
          this.state.wakeups.notifyAt(runAfter);
          requeued.push(row.type);
          return { jobId: item.jobId, outcome: "ok", status: "queued" };
        });
        throwIfSingleConflict(outcomes);
        const leases = next ? this.claimIn(workerId, next.types, next.max, now) : [];
        return { results: outcomes, next: leases };
      })
      .immediate();
    return out;
  }

  /** Extends current leases; reports the lost and the cancelled. Progress and logs ride along. */
  heartbeat(items: (LeaseRef & { progress?: { fraction: number; message?: string | undefined } | undefined; logs?: string[] | undefined })[]) {
    return this.client
      .transaction(() => {
        const now = Date.now();
        const extended: { jobId: number; expiresAt: number }[] = [];
        const lost: LeaseRef[] = [];
        const cancelled: LeaseRef[] = [];
        for (const item of items) {
          const ref = { jobId: item.jobId, attempt: item.attempt, leaseId: item.leaseId };
          const row = this.stmts.current.get(item.jobId) as CurrentRow | undefined;
          if (!this.matches(row, item)) {
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
    const count = this.client
      .transaction(() => {
        const now = Date.now();
        let n = 0;
        for (const ref of refs) {
          const row = this.stmts.current.get(ref.jobId) as CurrentRow | undefined;
          if (!this.matches(row, ref) || row.status !== "leased") continue;
          this.stmts.release.run(now, now, ref.jobId);
          this.events.append(ref.jobId, now, "released", row.attempts, workerId);
          types.push(row.type);
          n++;
        }
        return n;
      })
      .immediate();
    for (const type of types) this.state.wakeups.notify(type, 1);
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
    const woken: string[] = [];
    const n = this.client
      .transaction(() => {
        const now = Date.now();
        const rows = this.stmts.expired.all(now, limit) as (Pick<JobRow, "id" | "attempts" | "maxAttempts" | "leaseSeconds" | "type" | "queue" | "workerId">)[];
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
            woken.push(row.type);
          }
        }
        return rows.length;
      })
      .immediate();
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
