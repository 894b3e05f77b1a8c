import type { BenchConfig } from "../config.ts";
import type { ScenarioResult } from "../report.ts";
import { runDrain, type DrainRun } from "./drain-throughput.ts";

/**
 * Scenario 1: one job in flight per worker. Worker processes of concurrency 1; each
 * completion asks for the next lease (`next`), so a job costs one round trip.
 */
export async function inflightScenario(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const s = config.sizes.inflight;
  const runs: DrainRun[] = [];
  for (const workers of s.workerCounts) {
    log(`inflight: ${workers} worker process${workers === 1 ? "" : "es"} × concurrency 1`);
    runs.push(await runDrain({ name: `inflight-${workers}x1`, workers, concurrency: 1, ...s, cpuProfileDir: config.profileDir }, log));
  }
  return {
    name: "inflight",
    rows: runs.map((r) => ({
      scenario: "drain, 1 in flight/worker",
      metric: `${r.workers} worker${r.workers === 1 ? "" : "s"} × 1, median of ${r.windows.length}`,
      value: r.jobsPerSec,
      unit: "jobs/s",
      target: { op: ">=", bound: 7000 },
    })),
    detail: runs,
  };
}
