import { readFileSync } from "node:fs";
import { Harness } from "./harness.ts";
import { submitNoops } from "./seed.ts";
import { drainWindow, pauseQueue } from "./drain.ts";
const W = Number(process.argv[2] ?? 2), C = Number(process.argv[3] ?? 1), N = Number(process.argv[4] ?? 3000);
function cpu(pid: number) { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" "); return { u: Number(f[11]), s: Number(f[12]) }; }
const h = await Harness.start({ name: "dev" });
try {
  await pauseQueue(h, "noop");
  await h.startWorkers({ count: W, concurrency: C, types: ["noop"] });
  await submitNoops(h.admin, N);
  await drainWindow(h, "noop", N, 60000);
  await submitNoops(h.admin, N);
  const pids = [(h as any).coordinator.proc.pid, ...h.workers.map((w) => w.proc.pid), process.pid];
  const before = pids.map(cpu);
  const t = Date.now();
  const w = await drainWindow(h, "noop", N, 60000);
  const el = Date.now() - t;
  const after = pids.map(cpu);
  console.log(w, "elapsed", el);
  pids.forEach((p, i) => console.log(i === 0 ? "coord" : i === pids.length - 1 ? "bench" : "worker", "user%", ((after[i]!.u - before[i]!.u) * 10 / el * 100).toFixed(0), "sys%", ((after[i]!.s - before[i]!.s) * 10 / el * 100).toFixed(0), "cpu us/job", (((after[i]!.u + after[i]!.s - before[i]!.u - before[i]!.s) * 10000) / w.jobs).toFixed(0)));
} finally { await h.close(); }
