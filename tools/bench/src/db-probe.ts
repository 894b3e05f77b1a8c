import Database from "better-sqlite3";

/**
 * Reads the coordinator's SQLite file from the benchmark process, read-only. The drain
 * figures come from the timestamps the coordinator itself wrote (started_at at claim,
 * finished_at at completion), so polling here never adds requests to the server under test
 * and the measured span does not depend on how often we poll. WAL mode lets this reader
 * run beside the coordinator's writer.
 */
export class DbProbe {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    this.stmts = {
      // Both use jobs_queue_status_finished_idx (queue, status, finished_at).
      finishedSince: this.db.prepare(`SELECT count(*) AS n FROM jobs WHERE queue = ? AND status = 'succeeded' AND finished_at >= ?`),
      firstFinished: this.db.prepare(
        `SELECT started_at AS startedAt, finished_at AS finishedAt FROM jobs
         WHERE queue = ? AND status = 'succeeded' AND finished_at >= ? ORDER BY finished_at LIMIT ?`,
      ),
      // Uses the partial index over leased jobs.
      leased: this.db.prepare(`SELECT count(*) AS n FROM jobs WHERE status = 'leased'`),
      failed: this.db.prepare(`SELECT count(*) AS n FROM jobs WHERE status = 'failed'`),
      queued: this.db.prepare(`SELECT count(*) AS n FROM jobs WHERE queue = ? AND status = 'queued'`),
      leasedAt: this.db.prepare(`SELECT e.at FROM job_events e WHERE e.job_id = ? AND e.kind = 'leased' ORDER BY e.id LIMIT 1`),
    };
  }

  /** Jobs of `queue` that succeeded at or after `since` (epoch ms). */
  finishedSince(queue: string, since: number): number {
    return (this.stmts.finishedSince.get(queue, since) as { n: number }).n;
  }

  leased(): number {
    return (this.stmts.leased.get() as { n: number }).n;
  }

  /** Jobs of `queue` waiting to be claimed. */
  queued(queue: string): number {
    return (this.stmts.queued.get(queue) as { n: number }).n;
  }

  failed(): number {
    return (this.stmts.failed.get() as { n: number }).n;
  }

  /** When the coordinator claimed job `id` (epoch ms, its first `leased` event), if it has. */
  leasedAt(id: number): number | undefined {
    return (this.stmts.leasedAt.get(id) as { at: number } | undefined)?.at;
  }

  /**
   * The span of the first `count` jobs of `queue` to succeed at or after `since`: from the
   * earliest claim among them to the last of their completions (epoch ms, as the coordinator
   * stamped them).
   */
  span(queue: string, since: number, count: number): { jobs: number; firstStart: number; lastFinish: number } {
    const rows = this.stmts.firstFinished.all(queue, since, count) as { startedAt: number; finishedAt: number }[];
    if (rows.length === 0) throw new Error(`no job of queue ${queue} finished since ${since}`);
    let firstStart = Infinity;
    for (const r of rows) firstStart = Math.min(firstStart, r.startedAt);
    return { jobs: rows.length, firstStart, lastFinish: rows[rows.length - 1]!.finishedAt };
  }

  close(): void {
    this.db.close();
  }
}
