// A job-type plugin for the pickup-latency scenario, loaded by the coordinator (for its
// schema) and by one worker process (to run it). `run` records when the worker started the
// job, on the same clock the benchmark reads, sends it to the benchmark over the IPC
// channel, and returns it as the job's result as well.
import { defineJobType } from "@drover/jobs";
import { z } from "zod";
import { preciseNow, STAMP_IPC_ENV, STAMP_TYPE, type StampMessage } from "./clock.ts";

// Only in the worker the benchmark spawned with an IPC channel (never in the coordinator).
const send = process.env[STAMP_IPC_ENV] === "1" && process.send ? (msg: StampMessage) => process.send!(msg) : undefined;

if (send) {
  // Clock check: the benchmark pings, we answer with our clock, so the report can say how
  // far apart the two processes' clocks are (NTP-style, from the fastest round trip).
  process.on("message", (msg: { kind?: string; id?: number }) => {
    if (msg?.kind === "bench.ping" && typeof msg.id === "number") send({ kind: "bench.pong", id: msg.id, at: preciseNow() });
  });
  // The IPC channel must not keep the worker alive once it wants to exit.
  process.channel?.unref();
}

export default defineJobType({
  name: STAMP_TYPE,
  description: "Benchmark probe: records when the worker started the job.",
  payload: z.strictObject({}),
  result: z.object({ startedAt: z.number() }),
  defaults: { leaseSeconds: 60, maxAttempts: 1 },
  run(ctx) {
    const at = preciseNow();
    send?.({ kind: "bench.stamp", jobId: ctx.jobId, at });
    return { startedAt: at };
  },
});
