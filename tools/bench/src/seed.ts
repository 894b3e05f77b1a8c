import { openDatabase } from "@drover/coordinator";
import { MAX_BATCH, type DroverClient } from "@drover/protocol";

/** What a no-op job looks like in the queue: the built-in type's defaults, payload `{}`. */
export const NOOP = { type: "noop", leaseSeconds: 60, maxAttempts: 3 } as const;

/**
 * Queues `count` no-op jobs through the API, MAX_BATCH (10,000) per `jobs.submitBatch`
 * call — one transaction each on the coordinator.
 */
export async function submitNoops(admin: DroverClient, count: number, queue = NOOP.type): Promise<void> {
  for (let left = count; left > 0; left -= MAX_BATCH) {
    const n = Math.min(MAX_BATCH, left);
    const jobs = Array.from({ length: n }, () => ({ type: NOOP.type, queue, payload: {} }));
    await admin.jobs.submitBatch.mutate({ jobs });
  }
}

export interface DirectSeedOptions {
  count: number;
  queue?: string;
  /** Write the queue as paused, so a coordinator started on this file hands nothing out yet. */
  paused?: boolean;
}

/**
 * Writes `count` queued no-op jobs straight into a coordinator's SQLite file before the
 * coordinator starts (a million through HTTP would take minutes). The rows are what
 * `jobs.submitBatch` writes: the job, plus its `submitted` event, with the same defaults.
 * The schema comes from the coordinator's own migrations via `openDatabase`.
 */
export function seedDirect(file: string, opts: DirectSeedOptions): { ms: number } {
  const started = performance.now();
  const queue = opts.queue ?? NOOP.type;
  const db = openDatabase(file);
  const c = db.$client;
  try {
    const insertJob = c.prepare(
      `INSERT INTO jobs (type, queue, payload, priority, run_after, status, attempts, max_attempts, lease_seconds, created_by, created_at, updated_at)
       VALUES (?, ?, '{}', 0, ?, 'queued', 0, ?, ?, 'bench', ?, ?) RETURNING id`,
    );
    const insertEvent = c.prepare(`INSERT INTO job_events (job_id, at, kind, attempt, worker_id, data) VALUES (?, ?, 'submitted', 0, NULL, '{"by":"bench"}')`);
    const chunk = c.transaction((n: number, now: number) => {
      for (let i = 0; i < n; i++) {
        const { id } = insertJob.get(NOOP.type, queue, now, NOOP.maxAttempts, NOOP.leaseSeconds, now, now) as { id: number };
        insertEvent.run(id, now);
      }
    });
    for (let left = opts.count; left > 0; left -= 50_000) chunk(Math.min(50_000, left), Date.now());
    if (opts.paused) {
      c.prepare(`INSERT INTO queues (name, paused, paused_until, updated_at) VALUES (?, 1, NULL, ?) ON CONFLICT(name) DO UPDATE SET paused = 1, paused_until = NULL`).run(
        queue,
        Date.now(),
      );
    }
    c.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    c.close();
  }
  return { ms: performance.now() - started };
}
