import type { DroverClient } from "@drover/protocol";

export interface CrawlStatus {
  shards: { total: number; done: number; failed: number; running: number; queued: number };
  pairs: number;
  images: number;
  /** Shards finished per minute, over the recent window; null before two have finished. */
  shardsPerMinute: number | null;
  /** Milliseconds until the queued and running shards are done at that rate. */
  etaMs: number | null;
}

/** How many recent completions the rate is averaged over. */
const WINDOW = 100;

/**
 * Shards done of total, pairs and images so far (from the coordinator's counters), and a
 * throughput with an ETA averaged over the last completions' finish times.
 */
export async function crawlStatus(client: DroverClient, type = "crawl.wat"): Promise<CrawlStatus> {
  const [counts, byType, recent] = await Promise.all([
    client.jobs.counts.query({ type }),
    client.workers.countersByType.query(),
    client.jobs.list.query({ type, status: "succeeded", limit: WINDOW }),
  ]);
  const of = (status: string): number => counts.filter((c) => c.status === status).reduce((n, c) => n + c.count, 0);
  const shards = { total: counts.reduce((n, c) => n + c.count, 0), done: of("succeeded"), failed: of("failed"), running: of("leased"), queued: of("queued") };
  const sum = (name: string): number => byType.reduce((n, r) => n + (r.counts[name] ?? 0), 0);
  const finished = recent.jobs.map((j) => j.finishedAt).filter((t): t is number => t !== null).sort((a, b) => a - b);
  let shardsPerMinute: number | null = null;
  if (finished.length >= 2) {
    const span = Math.max(Date.now(), finished.at(-1)!) - finished[0]!;
    shardsPerMinute = span > 0 ? ((finished.length - 1) / span) * 60_000 : null;
  }
  const left = shards.queued + shards.running;
  const etaMs = shardsPerMinute !== null && shardsPerMinute > 0 ? (left / shardsPerMinute) * 60_000 : null;
  return { shards, pairs: sum("pairs"), images: sum("images"), shardsPerMinute, etaMs };
}

/** A moving average for `drover crawl status --watch`: each sample pulls the rate toward it. */
export function smooth(previous: number | null, sample: number | null, weight = 0.3): number | null {
  if (sample === null) return previous;
  return previous === null ? sample : previous + weight * (sample - previous);
}

export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "-";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
