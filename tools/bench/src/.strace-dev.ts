import { spawn } from "node:child_process";
import { Harness } from "./harness.ts";
import { submitNoops } from "./seed.ts";
import { drainWindow, pauseQueue } from "./drain.ts";
const W = Number(process.argv[2] ?? 1), C = Number(process.argv[3] ?? 64), N = Number(process.argv[4] ?? 5000);
const h = await Harness.start({ name: "dev" });
try {
  await pauseQueue(h, "noop");
  await h.startWorkers({ count: W, concurrency: C, types: ["noop"] });
  await submitNoops(h.admin, N); await drainWindow(h, "noop", N, 60000);
  await submitNoops(h.admin, N);
  const targets = [["coord", (h as any).coordinator.proc.pid], ["worker", h.workers[0]!.proc.pid]];
  const straces = targets.map(([n, pid]) => { const p = spawn("strace", ["-f", "-c", "-p", String(pid)], { stdio: ["ignore", "ignore", "pipe"] }); let out = ""; p.stderr.on("data", (c) => (out += c)); return { n, p, out: () => out, done: new Promise((r) => p.on("exit", r)) }; });
  await new Promise((r) => setTimeout(r, 500));
  const w = await drainWindow(h, "noop", N, 60000);
  console.log(w);
  for (const s of straces) { s.p.kill("SIGINT"); await s.done; console.log("=====", s.n, "\n", s.out().split("\n").slice(0, 22).join("\n")); }
} finally { await h.close(); }
