import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { preciseNow } from "../clock.ts";
import { spawnDrover, stopChild, waitForOutput } from "../processes.ts";
import { clockOffset, StampInbox } from "../stamp-inbox.ts";
import { summarize, type Summary } from "../stats.ts";

const FLOOR_SERVER = fileURLToPath(new URL("../floor/server.ts", import.meta.url));
const FLOOR_WORKER = fileURLToPath(new URL("../floor/worker.ts", import.meta.url));

export interface PickupFloor {
  samples: number;
  latencyMs: Summary;
  clock: { offsetMs: number; errorMs: number };
}

/**
 * The same measurement as the pickup scenario, with Drover taken out: a bare node:http
 * server (floor/server.ts) that hands a submitted job to a parked long-poll, a bare worker
 * process (floor/worker.ts) that long-polls it, and this process submitting one job at a
 * time, `gapMs` apart. Three processes and two loopback hops, as with Drover; what it
 * measures is what this machine charges for waking idle processes and moving a request
 * between them, the least any HTTP coordinator could do here.
 */
export async function measurePickupFloor(s: { samples: number; warmup: number; gapMs: number }): Promise<PickupFloor> {
  const server = spawnDrover({ name: "pickup-floor-server", script: FLOOR_SERVER, args: [] });
  let worker: ReturnType<typeof spawnDrover> | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const [, url] = await waitForOutput(server, /listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000);
    worker = spawnDrover({ name: "pickup-floor-worker", script: FLOOR_WORKER, args: [url!], ipc: true });
    const inbox = new StampInbox(worker.proc);
    await inbox.pong(0); // the worker is up
    const clock = await clockOffset(worker.proc, inbox);
    const { port } = new URL(url!);
    const submit = (jobId: number) =>
      new Promise<void>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: "/submit", method: "POST", agent }, (res) => {
          res.resume();
          res.on("end", resolve);
        });
        req.on("error", reject);
        req.end(JSON.stringify({ jobId }));
      });
    const latencies: number[] = [];
    for (let i = 1; i <= s.warmup + s.samples; i++) {
      await sleep(s.gapMs);
      const before = preciseNow();
      await submit(i);
      const startedAt = await inbox.started(i);
      if (i > s.warmup) latencies.push(startedAt - before);
    }
    return { samples: latencies.length, latencyMs: summarize(latencies), clock };
  } finally {
    agent.destroy();
    if (worker) await stopChild(worker, 2000);
    await stopChild(server, 2000);
  }
}
