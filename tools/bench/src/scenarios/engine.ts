import { openEngineProbe } from "@drover/coordinator/testing";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchConfig } from "../config.ts";
import type { ScenarioResult } from "../report.ts";
import { NOOP, seedDirect } from "../seed.ts";
import { median } from "../stats.ts";

export interface EngineDetail {
  seeded: number;
  /** jobs/s per window, one job per call, `workers` workers taking turns. */
  oneAtATime: { workers: number; windows: number[]; median: number };
  /** jobs/s per window, `batch` jobs per call. */
  batched: { batch: number; windows: number[]; median: number };
}

/**
 * The lease engine alone, in this process (no HTTP, no tRPC, no worker processes), over a
 * SQLite file seeded with no-op jobs: what its statements cost per job, the ceiling under
 * the `inflight` and `batched` figures. One job at a time: `workers` simulated workers each
 * complete their job and claim the next in one call (one transaction), taking turns, as
 * `inflight`'s workers do over HTTP. Batched: one worker completes 64 and claims 64 per call.
 */
export async function engineScenario(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const s = config.sizes.engine;
  const dir = mkdtempSync(join(tmpdir(), "drover-bench-engine-"));
  const file = join(dir, "drover.db");
  try {
    log(`engine: seeding ${s.seedJobs.toLocaleString("en-US")} no-op jobs`);
    seedDirect(file, { count: s.seedJobs });
    const checkpointErrors: string[] = [];
    const probe = openEngineProbe(file, (message) => checkpointErrors.push(message));
    try {
      const types = [NOOP.type];
      // An untimed warm-up first (JIT, caches), then the windows.
      const timedWindows = (step: () => number): number[] => {
        const warmUntil = performance.now() + s.warmupSeconds * 1000;
        while (performance.now() < warmUntil) step();
        const rates: number[] = [];
        for (let w = 0; w < s.windows; w++) {
          const started = performance.now();
          let jobs = 0;
          while (performance.now() - started < s.windowSeconds * 1000) jobs += step();
          rates.push(jobs / ((performance.now() - started) / 1000));
        }
        return rates;
      };

      const ids = Array.from({ length: s.workers }, (_, i) => probe.registerWorker(`engine-w${i + 1}`, types, 1));
      const held = ids.map((id) => probe.claim(id, types, 1));
      let turn = 0;
      const one = timedWindows(() => {
        const k = turn++ % ids.length;
        held[k] = probe.completeAndClaim(ids[k]!, held[k]!, { types, max: 1 });
        if (held[k]!.length === 0) throw new Error("engine: the queue ran dry; seed more jobs");
        return 1;
      });
      log(`  one job per call, ${s.workers} workers: ${one.map((r) => r.toFixed(0)).join(", ")} jobs/s`);

      const batcher = probe.registerWorker("engine-batch", types, s.batch);
      let leases = probe.claim(batcher, types, s.batch);
      const batched = timedWindows(() => {
        const n = leases.length;
        if (n === 0) throw new Error("engine: the queue ran dry; seed more jobs");
        leases = probe.completeAndClaim(batcher, leases, { types, max: s.batch });
        return n;
      });
      log(`  ${s.batch} jobs per call: ${batched.map((r) => r.toFixed(0)).join(", ")} jobs/s`);

      if (checkpointErrors.length > 0) throw new Error(`engine: WAL checkpoints failed during the run: ${checkpointErrors[0]}`);
      const detail: EngineDetail = {
        seeded: s.seedJobs,
        oneAtATime: { workers: s.workers, windows: one, median: median(one) },
        batched: { batch: s.batch, windows: batched, median: median(batched) },
      };
      return {
        name: "engine",
        rows: [
          { scenario: "engine alone (no HTTP)", metric: `1 job per call (complete + next), ${s.workers} workers`, value: detail.oneAtATime.median, unit: "jobs/s" },
          { scenario: "engine alone (no HTTP)", metric: `${s.batch} jobs per call (complete + next)`, value: detail.batched.median, unit: "jobs/s" },
        ],
        detail,
      };
    } finally {
      await probe.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
