import type Database from "better-sqlite3";

/**
 * Adds a completion batch's counts into job_counters, per worker name and job type, inside
 * the completing transaction: a stale completion counts nothing, a success counts once.
 * `jobs` is always counted; other names are what the job reported (pairs, images).
 */
export class CounterBook {
  private readonly upsert: Database.Statement;
  private readonly workerName: Database.Statement;

  constructor(client: Database.Database) {
    this.upsert = client.prepare(
      `INSERT INTO job_counters (worker_name, type, name, value, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (worker_name, type, name) DO UPDATE SET value = value + excluded.value, updated_at = excluded.updated_at`,
    );
    this.workerName = client.prepare(`SELECT name FROM workers WHERE id = ?`);
  }

  /** `done` holds one entry per job that succeeded now. */
  add(workerId: string, done: { type: string; counts?: Record<string, number> | undefined }[], now: number): void {
    if (done.length === 0) return;
    const name = (this.workerName.get(workerId) as { name: string } | undefined)?.name ?? workerId;
    const sums = new Map<string, Map<string, number>>();
    for (const { type, counts } of done) {
      let byName = sums.get(type);
      if (byName === undefined) sums.set(type, (byName = new Map()));
      byName.set("jobs", (byName.get("jobs") ?? 0) + 1);
      for (const [key, value] of Object.entries(counts ?? {})) if (key !== "jobs") byName.set(key, (byName.get(key) ?? 0) + value);
    }
    for (const [type, byName] of sums) for (const [key, value] of byName) this.upsert.run(name, type, key, value, now);
  }
}
