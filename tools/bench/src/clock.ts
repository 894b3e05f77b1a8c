// Shared by the benchmark and the stamp plugin it loads into a worker process. Importing
// this has no side effects (the plugin's IPC hook lives in the plugin alone).

/** The job type of the pickup probe. */
export const STAMP_TYPE = "bench.stamp";

/** Set on a worker the benchmark talks to over IPC; the plugin reports only there. */
export const STAMP_IPC_ENV = "DROVER_BENCH_STAMP_IPC";

/** Milliseconds since the epoch with sub-millisecond resolution; agrees across processes on one machine. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Messages from a worker that loaded the stamp plugin to the benchmark. */
export type StampMessage = { kind: "bench.stamp"; jobId: number; at: number } | { kind: "bench.pong"; id: number; at: number };
