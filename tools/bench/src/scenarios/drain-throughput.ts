import { drainWindow, pauseQueue, type DrainWindow } from "../drain.ts";
import { Harness } from "../harness.ts";
import { NOOP, submitNoops } from "../seed.ts";
import { median } from "../stats.ts";

export interface DrainRun {
  workers: number;
  concurrency: number;
  warmup: DrainWindow;
  windows: DrainWindow[];
  /** Median over the windows. */
  jobsPerSec: number;
}

export interface DrainRunOptions {
  name: string;
  workers: number;
  concurrency: number;
  warmupJobs: number;
  /** Size each window to drain in about this long at the warm-up's rate… */
  windowSeconds: number;
  /** …but never more jobs than this. */
  maxJobsPerWindow: number;
  windows: number;
  windowTimeoutMs: number;
  cpuProfileDir?: string | undefined;
}

/**
 * End-to-end drain of no-op jobs by worker processes through real HTTP. A fresh coordinator,
 * `workers` worker processes of `concurrency` each; an unmeasured warm-up window (JIT, SQLite
 * cache), then `windows` windows of the same size (about `windowSeconds` at the warm-up's
 * rate), each queued while the queue is paused so that the window measures draining a ready
 * backlog, not submitting.
 */
export async function runDrain(opts: DrainRunOptions, log: (line: string) => void): Promise<DrainRun> {
  await using h = await Harness.start({ name: opts.name, cpuProfileDir: opts.cpuProfileDir });
  await pauseQueue(h, NOOP.type);
  await h.startWorkers({ count: opts.workers, concurrency: opts.concurrency, types: [NOOP.type] });
  await submitNoops(h.admin, opts.warmupJobs);
  const warmup = await drainWindow(h, NOOP.type, opts.warmupJobs, opts.windowTimeoutMs);
  const perWindow = Math.max(1000, Math.min(opts.maxJobsPerWindow, Math.round((warmup.jobsPerSec * opts.windowSeconds) / 1000) * 1000));
  log(`  warm-up: ${Math.round(warmup.jobsPerSec)} jobs/s; windows of ${perWindow} jobs`);
  const windows: DrainWindow[] = [];
  for (let i = 0; i < opts.windows; i++) {
    await submitNoops(h.admin, perWindow);
    const w = await drainWindow(h, NOOP.type, perWindow, opts.windowTimeoutMs);
    log(`  window ${i + 1}/${opts.windows}: ${w.jobs} jobs in ${w.ms} ms = ${Math.round(w.jobsPerSec)} jobs/s${w.timedOut ? " (hit the time limit)" : ""}`);
    windows.push(w);
  }
  return { workers: opts.workers, concurrency: opts.concurrency, warmup, windows, jobsPerSec: median(windows.map((w) => w.jobsPerSec)) };
}
