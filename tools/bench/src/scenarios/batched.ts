import type { BenchConfig } from "../config.ts";
import type { ScenarioResult } from "../report.ts";
import { runDrain, type DrainRun } from "./drain-throughput.ts";

/**
 * Scenario 2: batched claims and completes. Worker processes of concurrency 64: a worker
 * claims up to its free slots in one acquire and reports finished jobs in one call.
 */
export async function batchedScenario(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const s = config.sizes.batched;
  const runs: DrainRun[] = [];
  for (const workers of s.workerCounts) {
    log(`batched: ${workers} worker process${workers === 1 ? "" : "es"} × concurrency ${s.concurrency}`);
    runs.push(await runDrain({ name: `batched-${workers}x${s.concurrency}`, workers, ...s, cpuProfileDir: config.profileDir }, log));
  }
  return {
    name: "batched",
    rows: runs.map((r) => ({
      scenario: "drain, batched",
      metric: `${r.workers} worker${r.workers === 1 ? "" : "s"} × ${r.concurrency}, median of ${r.windows.length}`,
      value: r.jobsPerSec,
      unit: "jobs/s",
      target: { op: ">=", bound: 50_000 },
    })),
    detail: runs,
  };
}
