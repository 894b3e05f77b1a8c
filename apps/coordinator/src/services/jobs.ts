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
import { JobInserter } from "../engine/insert-jobs.ts";
import type { EngineState } from "../engine/state.ts";
import { assertVisible, ownerScope } from "./ownership.ts";

export class JobsServiceImpl implements JobsService {
  private readonly eventLog: EventLog;
  private readonly inserter: JobInserter;
  private readonly allocateStmt;

  constructor(private readonly state: EngineState) {
    const c = state.db.$client;
    this.eventLog = new EventLog(c);
    this.inserter = new JobInserter(state);
    this.allocateStmt = c.prepare(
      `INSERT INTO sequences (name, next) VALUES (@name, @count) ON CONFLICT (name) DO UPDATE SET next = next + @count RETURNING next`,
    );
  }

  submit(by: Principal, job: JobSubmitParsed): SubmitResult {
    return this.submitBatch(by, [job], "")[0]!;
  }

  /** Validates every job first, then inserts all in one transaction: a batch is added whole or not at all. */
  submitBatch(by: Principal, list: JobSubmitParsed[], prefix = "jobs."): SubmitResult[] {
    const prepared = this.inserter.prepare(list, (i) => (prefix ? `${prefix}${i}.` : ""));
    const now = Date.now();
    const results = this.state.db.$client.transaction(() => this.inserter.insertIn(prepared, by.user, null, now)).immediate();
    this.inserter.announce(prepared, results, now);
    return results;
  }

  /** One upsert: the sequence's new `next` comes back, so concurrent callers never overlap. */
  allocateIds(_by: Principal, req: { sequence: string; count: number }): { start: number; end: number } {
    const { next } = this.allocateStmt.get({ name: req.sequence, count: req.count }) as { next: number };
    if (!Number.isSafeInteger(next)) throw new DroverError("INVALID_STATE", `sequence '${req.sequence}' would pass 2^53`);
    return { start: next - req.count, end: next };
  }

  /** The job, if it exists and the caller may see it (a submitter: only their own). */
  private row(by: Principal, id: number) {
    const row = this.state.db.select().from(jobs).where(eq(jobs.id, id)).get();
    if (!row) throw new DroverError("NOT_FOUND", `job ${id} does not exist`, { details: { field: "id" } });
    assertVisible(by, row);
    return row;
  }

  get(by: Principal, id: number): Job {
    return jobFromRow(this.row(by, id));
  }

  list(by: Principal, q: { type?: string | undefined; queue?: string | undefined; status?: Job["status"] | undefined; limit: number; cursor?: number | undefined }): JobListOutput {
    const where: SQL[] = this.ownerFilter(by);
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

  private ownerFilter(by: Principal): SQL[] {
    const owner = ownerScope(by);
    return owner === undefined ? [] : [eq(jobs.createdBy, owner)];
  }

  counts(by: Principal, q: { type?: string | undefined; queue?: string | undefined }): JobCount[] {
    const where: SQL[] = this.ownerFilter(by);
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
    let wasLeased = false;
    const job = this.state.db.$client
      .transaction(() => {
        const row = this.row(by, id);
        wasLeased = row.status === "leased";
        if (row.status !== "queued" && row.status !== "leased") {
          throw new DroverError("INVALID_STATE", `job ${id} is ${row.status}; only queued or leased jobs can be cancelled`);
        }
        const now = Date.now();
        this.state.db.update(jobs).set({ status: "cancelled", finishedAt: now, updatedAt: now, leaseExpiresAt: null }).where(eq(jobs.id, id)).run();
        this.eventLog.append(id, now, "cancelled", row.attempts, row.workerId, { by: by.user });
        return jobFromRow(this.row(by, id));
      })
      .immediate();
    // The slot counts as free at once: the worker stops at its next heartbeat.
    if (wasLeased) this.state.slotsFreed(job.queue, job.type);
    return job;
  }

  /** Puts a failed or cancelled job back in its queue with a fresh set of attempts. */
  retry(by: Principal, id: number): Job {
    const job = this.state.db.$client
      .transaction(() => {
        const row = this.row(by, id);
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
        return jobFromRow(this.row(by, id));
      })
      .immediate();
    this.state.noteQueue(job.type, job.queue);
    this.state.wakeups.notify(job.type, 1);
    return job;
  }

  events(by: Principal, id: number): JobEvent[] {
    this.row(by, id);
    return this.state.db
      .select()
      .from(jobEvents)
      .where(eq(jobEvents.jobId, id))
      .orderBy(jobEvents.id)
      .all()
      .map((e) => ({ ...e, data: parseJson(e.data) }));
  }

  logs(by: Principal, id: number): JobLogLine[] {
    this.row(by, id);
    return this.state.db
      .select({ at: jobLogs.at, attempt: jobLogs.attempt, line: jobLogs.line })
      .from(jobLogs)
      .where(eq(jobLogs.jobId, id))
      .orderBy(jobLogs.id)
      .limit(10_000)
      .all();
  }
}
