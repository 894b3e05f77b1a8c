import type Database from "better-sqlite3";
import type { StatsWindow } from "@drover/protocol";

/** Width of a stats bucket: windows are exact to within one bucket. */
export const STATS_BUCKET_MS = 10_000;
/** Buckets older than this are pruned. */
export const STATS_RETENTION_MS = 24 * 3600_000;

export type SettleEvent = "succeeded" | "failed" | "retried";

export interface StatsEntry {
  queue: string;
  user: string | null;
  event: SettleEvent;
  counts?: Record<string, number> | undefined;
}

/** Reported counts are stored as `count:<name>` so they never collide with the events. */
const COUNT_PREFIX = "count:";
const HTTP = /^http\.(\d{3})$/;

/**
 * Rolling-window statistics per queue and owner: settle events and the counts jobs report
 * (bytes, http.200 …), added per 10-second bucket inside the settling transaction, so a
 * stale settle adds nothing and a success counts once. A batch costs one upsert per
 * distinct (queue, owner, name), not per job.
 */
export class StatsBook {
  private readonly upsert: Database.Statement;
  private readonly sumAll: Database.Statement;
  private readonly sumUser: Database.Statement;
  private readonly prune: Database.Statement;
  private prunedAt = 0;

  constructor(client: Database.Database) {
    this.upsert = client.prepare(
      `INSERT INTO job_stats (bucket, queue, user, name, value) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (queue, bucket, user, name) DO UPDATE SET value = value + excluded.value`,
    );
    this.sumAll = client.prepare(`SELECT name, sum(value) AS value FROM job_stats WHERE queue = ? AND bucket > ? GROUP BY name`);
    this.sumUser = client.prepare(`SELECT name, sum(value) AS value FROM job_stats WHERE queue = ? AND bucket > ? AND user = ? GROUP BY name`);
    this.prune = client.prepare(`DELETE FROM job_stats WHERE bucket < ?`);
  }

  /** Call inside the settling transaction. */
  record(now: number, entries: readonly StatsEntry[]): void {
    if (entries.length === 0) return;
    const sums = new Map<string, { queue: string; user: string; name: string; value: number }>();
    const add = (queue: string, user: string, name: string, value: number) => {
      const key = `${queue}\0${user}\0${name}`;
      const sum = sums.get(key);
      if (sum) sum.value += value;
      else sums.set(key, { queue, user, name, value });
    };
    for (const { queue, user, event, counts } of entries) {
      add(queue, user ?? "", event, 1);
      for (const [name, value] of Object.entries(counts ?? {})) if (value > 0) add(queue, user ?? "", COUNT_PREFIX + name, value);
    }
    const bucket = Math.floor(now / STATS_BUCKET_MS);
    for (const s of sums.values()) this.upsert.run(bucket, s.queue, s.user, s.name, s.value);
  }

  /** The last `minutes` of a queue (everyone's, or one owner's). */
  window(queue: string, minutes: number, now: number, user?: string): StatsWindow {
    const since = Math.floor(now / STATS_BUCKET_MS) - (minutes * 60_000) / STATS_BUCKET_MS;
    const rows = (user === undefined ? this.sumAll.all(queue, since) : this.sumUser.all(queue, since, user)) as { name: string; value: number }[];
    const out: StatsWindow = { minutes, succeeded: 0, failed: 0, retried: 0, bytes: 0, http: {}, counts: {}, jobsPerSecond: 0, bytesPerSecond: 0 };
    for (const { name, value } of rows) {
      if (name === "succeeded" || name === "failed" || name === "retried") out[name] = value;
      else if (name.startsWith(COUNT_PREFIX)) {
        const count = name.slice(COUNT_PREFIX.length);
        const http = HTTP.exec(count);
        if (count === "bytes") out.bytes = value;
        else if (http) out.http[http[1]!] = value;
        else out.counts[count] = value;
      }
    }
    const seconds = minutes * 60;
    out.jobsPerSecond = (out.succeeded + out.failed) / seconds;
    out.bytesPerSecond = out.bytes / seconds;
    return out;
  }

  /** Drops old buckets, at most once a minute. */
  pruneOld(now: number): void {
    if (now - this.prunedAt < 60_000) return;
    this.prunedAt = now;
    this.prune.run(Math.floor((now - STATS_RETENTION_MS) / STATS_BUCKET_MS));
  }
}
