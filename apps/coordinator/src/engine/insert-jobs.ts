import type Database from "better-sqlite3";
import { DroverError, type JobSubmitParsed, type SubmitResult } from "@drover/protocol";
import { userJson } from "../json.ts";
import { EventLog } from "./events.ts";
import type { EngineState } from "./state.ts";

/** A job checked and ready to insert: validation happens before any transaction opens. */
export interface PreparedJob {
  job: JobSubmitParsed;
  text: string;
  queue: string;
  maxAttempts: number;
  leaseSeconds: number;
  group: string | null;
}

/**
 * Inserts jobs: for submits, and for the follow-up jobs a completion spawns inside the
 * lease engine's transaction. One place decides defaults, idempotency and the submitted
 * event, so a spawned job is exactly like a submitted one plus its parent.
 */
export class JobInserter {
  private readonly eventLog: EventLog;
  private readonly insertStmt: Database.Statement;
  private readonly byKeyStmt: Database.Statement;

  constructor(private readonly state: EngineState) {
    const c = state.db.$client;
    this.eventLog = new EventLog(c);
    this.insertStmt = c.prepare(
      `INSERT INTO jobs (type, queue, payload, priority, run_after, status, attempts, max_attempts, lease_seconds, idempotency_key, created_by, parent_id, group_key, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    );
    this.byKeyStmt = c.prepare(`SELECT id FROM jobs WHERE idempotency_key = ?`);
  }

  /** Validates payloads against their types and fills defaults; `where` prefixes field paths in errors. */
  prepare(list: JobSubmitParsed[], where: (i: number) => string): PreparedJob[] {
    const { types, settings } = this.state;
    return list.map((job, i) => {
      const at = where(i);
      const payload = types.validatePayload(job.type, job.payload, at);
      const spec = types.get(job.type);
      const defaults = spec?.defaults;
      return {
        job,
        text: userJson(payload ?? {}, `${at}payload`),
        queue: job.queue ?? job.type,
        maxAttempts: job.maxAttempts ?? defaults?.maxAttempts ?? settings.defaultMaxAttempts,
        leaseSeconds: job.leaseSeconds ?? defaults?.leaseSeconds ?? settings.defaultLeaseSeconds,
        group: job.group ?? groupOf(spec?.groupKey, payload, at),
      };
    });
  }

  /**
   * Inserts inside the caller's transaction. A job whose idempotency key exists already
   * (or appears earlier in the list) returns that job's id with `deduplicated: true`.
   */
  insertIn(prepared: PreparedJob[], createdBy: string | null, parentId: number | null, now: number): SubmitResult[] {
    return prepared.map((p): SubmitResult => {
      if (p.job.idempotencyKey !== undefined) {
        const existing = this.byKeyStmt.get(p.job.idempotencyKey) as { id: number } | undefined;
        if (existing) return { id: existing.id, deduplicated: true };
      }
      const { id } = this.insertStmt.get(
        p.job.type, p.queue, p.text, p.job.priority, p.job.runAfter ?? now, p.maxAttempts, p.leaseSeconds,
        p.job.idempotencyKey ?? null, createdBy, parentId, p.group, now, now,
      ) as { id: number };
      this.eventLog.append(id, now, "submitted", 0, null, parentId === null ? { by: createdBy } : { by: createdBy, parent: parentId });
      return { id, deduplicated: false };
    });
  }

  /** After the commit: tell the in-memory index and the long-pollers about new jobs. */
  announce(prepared: PreparedJob[], results: SubmitResult[], now: number): void {
    const added = new Map<string, number>();
    prepared.forEach((p, i) => {
      if (results[i]!.deduplicated) return;
      this.state.noteQueue(p.job.type, p.queue);
      const runAfter = p.job.runAfter ?? now;
      if (runAfter > now) this.state.wakeups.notifyAt(runAfter);
      else added.set(p.job.type, (added.get(p.job.type) ?? 0) + 1);
    });
    for (const [type, count] of added) this.state.wakeups.notify(type, count);
  }
}

/** The job type's group for a payload; a group function that throws is the type's bug, reported as the payload's. */
function groupOf(groupKey: ((payload: never) => string | undefined) | undefined, payload: unknown, at: string): string | null {
  if (groupKey === undefined) return null;
  let group: unknown;
  try {
    group = groupKey(payload as never);
  } catch (error) {
    throw new DroverError("PAYLOAD_INVALID", `${at}payload: the job type could not derive its group: ${(error as Error).message}`, { details: { field: `${at}payload` } });
  }
  if (group === undefined || group === null || group === "") return null;
  if (typeof group !== "string" || group.length > 255) throw new DroverError("PAYLOAD_INVALID", `${at}payload: the job type's group must be a string of at most 255 characters`, { details: { field: `${at}payload` } });
  return group;
}
