import {
  DroverError,
  type Job,
  type JobCount,
  type JobEvent,
  type JobListOutput,
  type JobLogLine,
  type JobSubmitParsed,
  type JobsService,
  type Principal,
  type SubmitResult,
} from "@drover/protocol";
import { and, desc, eq, lt, sql, type SQL } from "drizzle-orm";
import { jobEvents, jobLogs, jobs } from "../db/schema.ts";
import { jobFromRow, parseJson } from "../db/rows.ts";
import { EventLog } from "../engine/events.ts";
import { userJson } from "../json.ts";
import type { EngineState } from "../engine/state.ts";

export class JobsServiceImpl implements JobsService {
  private readonly eventLog: EventLog;
  private readonly insertStmt;
  private readonly byKeyStmt;

  constructor(private readonly state: EngineState) {
    const c = state.db.$client;
    this.eventLog = new EventLog(c);
    this.insertStmt = c.prepare(
      `INSERT INTO jobs (type, queue, payload, priority, run_after, status, attempts, max_attempts, lease_seconds, idempotency_key, created_by, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?, ?) RETURNING id`,
    );
    this.byKeyStmt = c.prepare(`SELECT id FROM jobs WHERE idempotency_key = ?`);
  }

  submit(by: Principal, job: JobSubmitParsed): SubmitResult {
    return this.submitBatch(by, [job], "")[0]!;
  }

  /**
   * Validates every job first, then inserts all in one transaction: a batch is added
   * whole or not at all. A job whose idempotency key exists already (or appears earlier
   * in the batch) returns that job's id with `deduplicated: true`.
   */
  submitBatch(by: Principal, list: JobSubmitParsed[], prefix = "jobs."): SubmitResult[] {
    const { types, settings } = this.state;
    const prepared = list.map((job, i) => {
      const where = prefix ? `${prefix}${i}.` : "";
      const payload = types.validatePayload(job.type, job.payload, where);
      const text = userJson(payload ?? {}, `${where}payload`);
      const defaults = types.get(job.type)?.defaults;
      return {
        job,
        text,
        queue: job.queue ?? job.type,
        maxAttempts: job.maxAttempts ?? defaults?.maxAttempts ?? settings.defaultMaxAttempts,
        leaseSeconds: job.leaseSeconds ?? defaults?.leaseSeconds ?? settings.defaultLeaseSeconds,
      };
    });
    const now = Date.now();
    const results = this.state.db.$client
      .transaction(() =>
        prepared.map((p): SubmitResult => {
          if (p.job.idempotencyKey !== undefined) {
            const existing = this.byKeyStmt.get(p.job.idempotencyKey) as { id: number } | undefined;
            if (existing) return { id: existing.id, deduplicated: true };
          }
          const runAfter = p.job.runAfter ?? now;
          const { id } = this.insertStmt.get(
            p.job.type, p.queue, p.text, p.job.priority, runAfter, p.maxAttempts, p.leaseSeconds,
            p.job.idempotencyKey ?? null, by.user, now, now,
          ) as { id: number };
          this.eventLog.append(id, now, "submitted", 0, null, { by: by.user });
          return { id, deduplicated: false };
        }),
      )
      .immediate();
    // Tell the in-memory index and the long-pollers, after the commit.
    const added = new Map<string, number>();
    prepared.forEach((p, i) => {
      if (results[i]!.deduplicated) return;
      this.state.noteQueue(p.job.type, p.queue);
      const runAfter = p.job.runAfter ?? now;
      if (runAfter > now) this.state.wakeups.notifyAt(runAfter);
      else added.set(p.job.type, (added.get(p.job.type) ?? 0) + 1);
    });
    for (const [type, count] of added) this.state.wakeups.notify(type, count);
    return results;
  }

  private row(id: number) {
    const row = this.state.db.select().from(jobs).where(eq(jobs.id, id)).get();
    if (!row) throw new DroverError("NOT_FOUND", `job ${id} does not exist`, { details: { field: "id" } });
    return row;
  }

  get(_by: Principal, id: number): Job {
    return jobFromRow(this.row(id));
  }

  list(_by: Principal, q: { type?: string | undefined; queue?: string | undefined; status?: Job["status"] | undefined; limit: number; cursor?: number | undefined }): JobListOutput {
    const where: SQL[] = [];
    if (q.type) where.push(eq(jobs.type, q.type));
    if (q.queue) where.push(eq(jobs.queue, q.queue));
    if (q.status) where.push(eq(jobs.status, q.status));
    if (q.cursor !== undefined) where.push(lt(jobs.id, q.cursor));
    const rows = this.state.db
      .select()
      .from(jobs)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(jobs.id))
      .limit(q.limit + 1)
      .all();
    const page = rows.slice(0, q.limit);
    return { jobs: page.map(jobFromRow), nextCursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
  }

  counts(_by: Principal, q: { type?: string | undefined; queue?: string | undefined }): JobCount[] {
    const where: SQL[] = [];
    if (q.type) where.push(eq(jobs.type, q.type));
    if (q.queue) where.push(eq(jobs.queue, q.queue));
    return this.state.db
      .select({ type: jobs.type, status: jobs.status, count: sql<number>`count(*)` })
      .from(jobs)
      .where(where.length ? and(...where) : undefined)
      .groupBy(jobs.type, jobs.status)
      .all();
  }

  /** Cancels a queued or leased job; a leased job's worker learns it at its next heartbeat. */
  cancel(by: Principal, id: number): Job {
    return this.state.db.$client
      .transaction(() => {
        const row = this.row(id);
        if (row.status !== "queued" && row.status !== "leased") {
          throw new DroverError("INVALID_STATE", `job ${id} is ${row.status}; only queued or leased jobs can be cancelled`);
        }
        const now = Date.now();
        this.state.db.update(jobs).set({ status: "cancelled", finishedAt: now, updatedAt: now, leaseExpiresAt: null }).where(eq(jobs.id, id)).run();
        this.eventLog.append(id, now, "cancelled", row.attempts, row.workerId, { by: by.user });
        return jobFromRow(this.row(id));
      })
      .immediate();
  }

  /** Puts a failed or cancelled job back in its queue with a fresh set of attempts. */
  retry(by: Principal, id: number): Job {
    const job = this.state.db.$client
      .transaction(() => {
        const row = this.row(id);
        if (row.status !== "failed" && row.status !== "cancelled") {
          throw new DroverError("INVALID_STATE", `job ${id} is ${row.status}; only failed or cancelled jobs can be retried`);
        }
        const now = Date.now();
        this.state.db
          .update(jobs)
          // attempts keeps counting: it is the fencing token, so a retried job's next attempt
          // must differ from every earlier one. The retry grants a fresh set of attempts.
          .set({ status: "queued", maxAttempts: row.attempts + row.maxAttempts, runAfter: now, finishedAt: null, updatedAt: now, leaseId: null, workerId: null })
          .where(eq(jobs.id, id))
          .run();
        this.eventLog.append(id, now, "retried", row.attempts, null, { by: by.user, previousError: parseJson(row.error) });
        return jobFromRow(this.row(id));
      })
      .immediate();
    this.state.noteQueue(job.type, job.queue);
    this.state.wakeups.notify(job.type, 1);
    return job;
  }

  events(_by: Principal, id: number): JobEvent[] {
    this.row(id);
    return this.state.db
      .select()
      .from(jobEvents)
      .where(eq(jobEvents.jobId, id))
      .orderBy(jobEvents.id)
      .all()
      .map((e) => ({ ...e, data: parseJson(e.data) }));
  }

  logs(_by: Principal, id: number): JobLogLine[] {
    this.row(id);
    return this.state.db
      .select({ at: jobLogs.at, attempt: jobLogs.attempt, line: jobLogs.line })
      .from(jobLogs)
      .where(eq(jobLogs.jobId, id))
      .orderBy(jobLogs.id)
      .limit(10_000)
      .all();
  }
}
