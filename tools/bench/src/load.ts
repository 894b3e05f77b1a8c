import { arch, cpus, hostname, platform, totalmem } from "node:os";
import type { DroverClient } from "@drover/protocol";

export interface LoadResult {
  /** Client-side latency of each measured call, ms. */
  latencies: number[];
  /** Measured calls that returned no lease. */
  empty: number;
  /** Wall time over which the measured calls ran, ms. */
  wallMs: number;
  /** CPU this process spent per measured call (the client's cost), µs. */
  clientCpuUs: number;
}

/**
 * Calls `leases.acquire` (max 1, waitMs 0) `warmup + count` times with `inFlight` calls
 * always outstanding (closed loop: each lane calls again as soon as its answer arrives);
 * the first `warmup` calls are not measured.
 */
export async function driveAcquire(client: DroverClient, workerId: string, opts: { inFlight: number; count: number; warmup: number }): Promise<LoadResult> {
  const total = opts.warmup + opts.count;
  const latencies: number[] = [];
  let issued = 0;
  let empty = 0;
  let from = 0;
  let to = 0;
  let cpuFrom: NodeJS.CpuUsage | undefined;
  const lane = async () => {
    while (issued < total) {
      const n = issued++;
      if (n === opts.warmup) {
        from = performance.now();
        cpuFrom = process.cpuUsage();
      }
      const t0 = performance.now();
      const leases = await client.leases.acquire.mutate({ workerId, types: ["noop"], max: 1, waitMs: 0 });
      const t1 = performance.now();
      if (n >= opts.warmup) {
        latencies.push(t1 - t0);
        if (leases.length === 0) empty++;
        to = Math.max(to, t1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.inFlight, total) }, lane));
  const cpu = process.cpuUsage(cpuFrom);
  return { latencies, empty, wallMs: to - from, clientCpuUs: (cpu.user + cpu.system) / latencies.length };
}

/** Registers this process as a worker (acquire needs a registered worker id). */
export async function registerProbe(client: DroverClient, name: string, concurrency: number): Promise<string> {
  const { workerId } = await client.workers.register.mutate({
    name,
    types: ["noop"],
    concurrency,
    version: "bench",
    host: { hostname: hostname(), platform: platform(), arch: arch(), cpus: cpus().length, memoryBytes: totalmem(), pid: process.pid, nodeVersion: process.version },
  });
  return workerId;
}
