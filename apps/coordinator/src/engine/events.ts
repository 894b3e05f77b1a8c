import type Database from "better-sqlite3";

export type EventKind =
  | "submitted"
  | "leased"
  | "succeeded"
  | "failed"
  | "retry_scheduled"
  | "expired"
  | "released"
  | "cancelled"
  | "retried"
  | "reopened";

/** Appends to job_events: every state change of a job goes through here. */
export class EventLog {
  private readonly insert: Database.Statement;
  constructor(client: Database.Database) {
    this.insert = client.prepare("INSERT INTO job_events (job_id, at, kind, attempt, worker_id, data) VALUES (?, ?, ?, ?, ?, ?)");
  }
  append(jobId: number, at: number, kind: EventKind, attempt: number, workerId: string | null, data?: unknown): void {
    this.insert.run(jobId, at, kind, attempt, workerId, data === undefined ? null : JSON.stringify(data));
  }
}
