import { createDroverClient, type DroverClient } from "@drover/protocol";
import { fileURLToPath } from "node:url";
import type { BenchConfig } from "../config.ts";
import { Harness } from "../harness.ts";
import { driveAcquire, registerProbe } from "../load.ts";
import { cpuMsOf, spawnDrover, stopChild, waitForOutput } from "../processes.ts";
import type { Row, ScenarioResult } from "../report.ts";
import { seedDirect } from "../seed.ts";
import { perSecond, summarize, type Summary } from "../stats.ts";

const SERVER = fileURLToPath(new URL("../overhead-server.ts", import.meta.url));
const STUB_LAYERS = ["http", "fastify", "trpc-bare", "trpc"] as const;
type Layer = (typeof STUB_LAYERS)[number] | "coordinator";

const LABEL: Record<Layer, string> = {
  http: "node:http",
  fastify: "+ Fastify",
  "trpc-bare": "+ tRPC Fastify adapter",
  trpc: "+ Drover router (role mw, zod)",
  coordinator: "coordinator (+ token, engine, SQLite)",
};

export interface LayerResult {
  layer: Layer;
  /** One call at a time: the round trip a one-in-flight worker pays per job. */
  sequential: Summary;
  /** `inFlight` calls outstanding. */
  concurrent: { latencyMs: Summary; requestsPerSec: number; serverCpuUsPerRequest: number | undefined; clientCpuUsPerRequest: number };
}

async function measure(layer: Layer, client: DroverClient, workerId: string, serverCpuMs: () => number | undefined, config: BenchConfig): Promise<LayerResult> {
  const s = config.sizes.overhead;
  await driveAcquire(client, workerId, { inFlight: s.inFlight, count: s.warmup, warmup: 0 });
  const seq = await driveAcquire(client, workerId, { inFlight: 1, count: s.sequential, warmup: 0 });
  const before = serverCpuMs();
  const conc = await driveAcquire(client, workerId, { inFlight: s.inFlight, count: s.concurrent, warmup: 0 });
  const after = serverCpuMs();
  return {
    layer,
    sequential: summarize(seq.latencies),
    concurrent: {
      latencyMs: summarize(conc.latencies),
      requestsPerSec: perSecond(conc.latencies.length, conc.wallMs),
      serverCpuUsPerRequest: before !== undefined && after !== undefined ? ((after - before) * 1000) / conc.latencies.length : undefined,
      clientCpuUsPerRequest: conc.clientCpuUs,
    },
  };
}

/**
 * Where a request's time goes: the same `leases.acquire` call through the same typed client
 * against servers that add one layer at a time — bare node:http, Fastify, the tRPC adapter,
 * Drover's router with its middleware and zod validation over a stub service, and the real
 * coordinator claiming from a deep queue. Reports the one-at-a-time round trip and the server's CPU per request.
 */
export async function overheadScenario(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const s = config.sizes.overhead;
  const results: LayerResult[] = [];
  for (const layer of STUB_LAYERS) {
    const server = spawnDrover({ name: `overhead-${layer}`, script: SERVER, args: [layer] });
    try {
      const [, url] = await waitForOutput(server, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const client = createDroverClient({ url: url!, token: "bench-overhead-probe" });
      results.push(await measure(layer, client, "bench", () => cpuMsOf(server), config));
    } finally {
      await stopChild(server, 5000);
    }
  }
  {
    await using h = await Harness.start({ name: "overhead", seed: (file) => seedDirect(file, { count: 2 * s.warmup + s.sequential + s.concurrent + s.inFlight }) });
    const client = createDroverClient({ url: h.url, token: h.workerToken });
    const workerId = await registerProbe(client, "bench-overhead", s.inFlight);
    results.push(await measure("coordinator", client, workerId, () => h.coordinatorCpuMs(), config));
  }
  for (const r of results) {
    log(
      `  ${LABEL[r.layer].padEnd(38)} 1 in flight p50 ${r.sequential.p50.toFixed(3)} ms; ${s.inFlight} in flight ${Math.round(r.concurrent.requestsPerSec)} req/s, ` +
        `server ${r.concurrent.serverCpuUsPerRequest?.toFixed(0)} µs CPU/req, client ${r.concurrent.clientCpuUsPerRequest.toFixed(0)} µs CPU/req`,
    );
  }
  const rows: Row[] = results.flatMap((r) => [
    { scenario: "request cost (acquire)", metric: `${LABEL[r.layer]}: RTT p50, 1 in flight`, value: r.sequential.p50, unit: "ms" },
    ...(r.concurrent.serverCpuUsPerRequest === undefined
      ? []
      : [{ scenario: "request cost (acquire)", metric: `${LABEL[r.layer]}: server CPU/req`, value: r.concurrent.serverCpuUsPerRequest, unit: "µs" }]),
  ]);
  const clientCpu = results[0]!.concurrent.clientCpuUsPerRequest;
  rows.push({ scenario: "request cost (acquire)", metric: "typed client (bench side): CPU/req", value: clientCpu, unit: "µs" });
  return { name: "overhead", rows, detail: results };
}
