import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchConfig } from "../config.ts";
import { Harness } from "../harness.ts";
import type { ScenarioResult } from "../report.ts";
import { preciseNow, STAMP_TYPE } from "../clock.ts";
import { clockOffset, StampInbox } from "../stamp-inbox.ts";
import { measurePickupFloor, type PickupFloor } from "./pickup-floor.ts";
import { summarize, type Summary } from "../stats.ts";

const STAMP_PLUGIN = fileURLToPath(new URL("../stamp-plugin.ts", import.meta.url));

export interface PickupDetail {
  samples: number;
  latencyMs: Summary;
  clock: { offsetMs: number; errorMs: number };
  /** Submit call round trip (bench side); before-submit → claim and claim → plugin start (±1 ms: the claim stamp is Date.now()). */
  breakdown: { submitRoundTripMs: Summary; submitToClaimMs: Summary; claimToStartMs: Summary };
  /** The same loop with bare node:http processes instead of Drover: this machine's floor. */
  floor: PickupFloor;
}

/**
 * Scenario 3: pickup latency on an empty queue. One worker process (concurrency 1) long-polls;
 * we submit one job at a time and measure from just before `jobs.submit` to the moment the
 * plugin's `run` starts in the worker. Between jobs we pause `gapMs`, so the worker has
 * reported the last one and is long-polling again.
 */
export async function pickupScenario(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const s = config.sizes.pickup;
  log(`pickup: 1 worker long-polling, ${s.samples} jobs one at a time`);
  await using h = await Harness.start({ name: "pickup", plugins: [STAMP_PLUGIN], cpuProfileDir: config.profileDir });
  const [worker] = await h.startWorkers({ count: 1, concurrency: 1, types: [STAMP_TYPE], plugins: [STAMP_PLUGIN], ipc: true });
  const inbox = new StampInbox(worker!.proc);
  const clock = await clockOffset(worker!.proc, inbox);
  log(`  worker clock − ours: ${clock.offsetMs.toFixed(3)} ms (± ${clock.errorMs.toFixed(3)} ms)`);

  const latencies: number[] = [];
  const submitMs: number[] = [];
  const claimed: { id: number; before: number; startedAt: number }[] = [];
  for (let i = 0; i < s.warmup + s.samples; i++) {
    await sleep(s.gapMs);
    const before = preciseNow();
    const { id } = await h.admin.jobs.submit.mutate({ type: STAMP_TYPE, payload: {} });
    const acked = preciseNow();
    const startedAt = await inbox.started(id);
    if (i >= s.warmup) {
      latencies.push(startedAt - before);
      submitMs.push(acked - before);
      claimed.push({ id, before, startedAt });
    }
  }
  const latencyMs = summarize(latencies);
  // Where the time goes, from the coordinator's `leased` event (a Date.now() stamp: ±1 ms).
  const toClaim = claimed.map((c) => (h.probe.leasedAt(c.id) ?? NaN) - c.before).filter(Number.isFinite);
  const claimToStart = claimed.map((c) => c.startedAt - (h.probe.leasedAt(c.id) ?? NaN)).filter(Number.isFinite);
  const breakdown = { submitRoundTripMs: summarize(submitMs), submitToClaimMs: summarize(toClaim), claimToStartMs: summarize(claimToStart) };
  log(`  p50 ${latencyMs.p50.toFixed(3)} ms, p99 ${latencyMs.p99.toFixed(3)} ms (submit round trip p50 ${breakdown.submitRoundTripMs.p50.toFixed(3)} ms; claim → start p50 ≈ ${breakdown.claimToStartMs.p50.toFixed(1)} ms)`);
  await h.close();
  log(`pickup floor: bare node:http server and worker processes, the same ${s.samples} jobs one at a time`);
  const floor = await measurePickupFloor(s);
  log(`  floor p50 ${floor.latencyMs.p50.toFixed(3)} ms, p99 ${floor.latencyMs.p99.toFixed(3)} ms`);
  const detail: PickupDetail = { samples: latencies.length, latencyMs, clock, breakdown, floor };
  return {
    name: "pickup",
    rows: [
      { scenario: "pickup, empty queue", metric: "enqueue → start p50", value: latencyMs.p50, unit: "ms", target: { op: "<=", bound: 1 } },
      { scenario: "pickup, empty queue", metric: "enqueue → start p99", value: latencyMs.p99, unit: "ms", target: { op: "<=", bound: 3 } },
      { scenario: "pickup, empty queue", metric: "floor (bare node:http processes) p50", value: floor.latencyMs.p50, unit: "ms" },
      { scenario: "pickup, empty queue", metric: "floor (bare node:http processes) p99", value: floor.latencyMs.p99, unit: "ms" },
    ],
    detail,
  };
}
