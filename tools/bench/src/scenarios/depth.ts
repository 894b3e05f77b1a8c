import type { BenchConfig } from "../config.ts";
import { drainWindow, type DrainWindow } from "../drain.ts";
import { Harness } from "../harness.ts";
import type { ScenarioResult } from "../report.ts";
import { NOOP, seedDirect, submitNoops } from "../seed.ts";
import { median } from "../stats.ts";

export interface DepthRun {
  depth: number;
  seedMs: number;
  warmup: DrainWindow;
  windows: DrainWindow[];
  jobsPerSec: number;
}

/**
 * Drains `jobsPerWindow` jobs from the top of a queue `depth` deep, `windows` times. The queue
 * is written straight into the database, paused, before the coordinator starts; a window
 * that empties it is refilled (through the API, while paused) before the next one, so
 * every window starts at `depth` queued jobs.
 */
async function runDepth(config: BenchConfig, depth: number, log: (line: string) => void): Promise<DepthRun> {
  const s = config.sizes.depth;
  const perWindow = Math.min(s.jobsPerWindow, depth);
  let seedMs = 0;
  await using h = await Harness.start({
    name: `depth-${depth}`,
    seed: (file) => (seedMs = seedDirect(file, { count: depth + s.warmupJobs, paused: true }).ms),
    cpuProfileDir: config.profileDir,
  });
  log(`  seeded ${depth + s.warmupJobs} jobs in ${(seedMs / 1000).toFixed(1)} s`);
  await h.startWorkers({ count: s.workers, concurrency: s.concurrency, types: [NOOP.type] });
  // The warm-up drains the extra jobs seeded for it, leaving `depth` queued.
  const warmup = await drainWindow(h, NOOP.type, s.warmupJobs, s.windowTimeoutMs);
  const windows: DrainWindow[] = [];
  for (let i = 0; i < s.windows; i++) {
    // Counted, not computed: a window drains a few more than it measures (the leases out
    // when it pauses the queue).
    const queued = h.probe.queued(NOOP.type);
    if (queued < depth) await submitNoops(h.admin, depth - queued);
    const w = await drainWindow(h, NOOP.type, perWindow, s.windowTimeoutMs);
    log(`  window ${i + 1}/${s.windows}: ${w.jobs} jobs in ${w.ms} ms = ${Math.round(w.jobsPerSec)} jobs/s${w.timedOut ? " (hit the time limit)" : ""}`);
    windows.push(w);
  }
  return { depth, seedMs, warmup, windows, jobsPerSec: median(windows.map((w) => w.jobsPerSec)) };
}

/**
 * Scenario 5: does the drain rate hold as the queue grows? The same workers (batched) drain
 * the same number of jobs from a shallow and from a deep queue; the ratio of the two rates
 * is held to the 1.3×.
 */
export async function depthScenario(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const s = config.sizes.depth;
  const runs: DepthRun[] = [];
  for (const depth of s.depths) {
    log(`depth: ${depth.toLocaleString("en-US")} queued, ${s.workers} workers × ${s.concurrency}`);
    runs.push(await runDepth(config, depth, log));
  }
  const [shallow, deep] = runs as [DepthRun, DepthRun];
  const ratio = shallow.jobsPerSec / deep.jobsPerSec;
  const k = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
  const scenario = `drain vs queue depth`;
  return {
    name: "depth",
    rows: [
      { scenario, metric: `${k(shallow.depth)} queued, median of ${shallow.windows.length}`, value: shallow.jobsPerSec, unit: "jobs/s" },
      { scenario, metric: `${k(deep.depth)} queued, median of ${deep.windows.length}`, value: deep.jobsPerSec, unit: "jobs/s" },
      { scenario, metric: `slowdown ${k(shallow.depth)} → ${k(deep.depth)} (rate ratio)`, value: ratio, unit: "×", target: { op: "<=", bound: 1.3 } },
    ],
    detail: { runs, ratio },
  };
}
