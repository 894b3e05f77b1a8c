import { createDroverClient } from "@drover/protocol";
import type { BenchConfig } from "../config.ts";
import { Harness } from "../harness.ts";
import { driveAcquire, registerProbe } from "../load.ts";
import type { ScenarioResult } from "../report.ts";
import { seedDirect } from "../seed.ts";
import { perSecond, summarize, type Summary } from "../stats.ts";

export interface ClaimDetail {
  inFlight: number;
  requests: number;
  /** Calls that came back with no lease (there should be none: the queue is deep). */
  empty: number;
  latencyMs: Summary;
  claimsPerSec: number;
  /** Coordinator CPU per claim, µs (Linux /proc accounting). */
  serverCpuUsPerClaim: number | undefined;
  /** This process's CPU per call (the typed client), µs. */
  clientCpuUsPerCall: number;
}

/**
 * Scenario 4: claim latency under load. A queue deeper than all the calls will take;
 * `inFlight` lanes in this process each call `leases.acquire` (max 1, waitMs 0) through the
 * typed client and call again as soon as the answer arrives, so `inFlight` requests are
 * always outstanding. Each call's latency is measured here, client side, over real HTTP.
 */
export async function claimScenario(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const s = config.sizes.claim;
  log(`claim: ${s.inFlight} acquire calls in flight, ${s.requests} measured`);
  await using h = await Harness.start({
    name: "claim",
    seed: (file) => seedDirect(file, { count: s.warmup + s.requests + s.inFlight }),
    cpuProfileDir: config.profileDir,
  });
  const client = createDroverClient({ url: h.url, token: h.workerToken });
  const workerId = await registerProbe(client, "bench-claimer", s.inFlight);
  await driveAcquire(client, workerId, { inFlight: s.inFlight, count: s.warmup, warmup: 0 });
  const cpuBefore = h.coordinatorCpuMs();
  const run = await driveAcquire(client, workerId, { inFlight: s.inFlight, count: s.requests, warmup: 0 });
  const cpuAfter = h.coordinatorCpuMs();

  const latencyMs = summarize(run.latencies);
  const claimsPerSec = perSecond(run.latencies.length, run.wallMs);
  const serverCpuUsPerClaim = cpuBefore !== undefined && cpuAfter !== undefined ? ((cpuAfter - cpuBefore) * 1000) / run.latencies.length : undefined;
  log(`  p50 ${latencyMs.p50.toFixed(2)} ms, p99 ${latencyMs.p99.toFixed(2)} ms, ${Math.round(claimsPerSec)} claims/s, coordinator ${serverCpuUsPerClaim?.toFixed(0)} µs CPU/claim, ${run.empty} empty`);
  const detail: ClaimDetail = {
    inFlight: s.inFlight,
    requests: run.latencies.length,
    empty: run.empty,
    latencyMs,
    claimsPerSec,
    serverCpuUsPerClaim,
    clientCpuUsPerCall: run.clientCpuUs,
  };
  const scenario = `claim, ${s.inFlight} in flight`;
  return {
    name: "claim",
    rows: [
      { scenario, metric: "acquire latency p50", value: latencyMs.p50, unit: "ms" },
      { scenario, metric: "acquire latency p99", value: latencyMs.p99, unit: "ms" },
      { scenario, metric: "claims served", value: claimsPerSec, unit: "claims/s" },
    ],
    detail,
  };
}
