import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

/**
 * How much CPU processes outside this benchmark used while it measured: everything the
 * machine was busy with (/proc/stat) minus what this process and its children used. On a
 * 2-core box another job (a test suite, a build) skews every figure, so the report says how
 * much of the machine was not ours. Linux only; elsewhere the figures are undefined.
 */
export interface CpuMark {
  at: number;
  /** Busy ticks of the whole machine (user, nice, system, irq, softirq, steal). */
  busy: number;
  /** Ticks used by this process, its live children, and the children it has reaped. */
  ours: number;
}

function busyTicks(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
}

/** utime + stime + cutime + cstime of one process, in ticks. */
function processTicks(pid: number | "self"): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
}

function childPids(): number[] {
  const out: number[] = [];
  for (const task of readdirSync("/proc/self/task")) {
    try {
      for (const pid of readFileSync(`/proc/self/task/${task}/children`, "utf8").trim().split(/\s+/)) if (pid) out.push(Number(pid));
    } catch {
      // a thread that just ended
    }
  }
  return out;
}

export function cpuMark(): CpuMark | undefined {
  try {
    let ours = processTicks("self");
    for (const pid of childPids()) {
      try {
        ours += processTicks(pid);
      } catch {
        // exited between listing and reading: reaped, so counted in our cutime from now on
      }
    }
    return { at: performance.now(), busy: busyTicks(), ours };
  } catch {
    return undefined;
  }
}

/** CPU others used between two marks, in % of one core (200 = both cores of a 2-core box). */
export function foreignCpuPercent(from: CpuMark | undefined, to: CpuMark | undefined): number | undefined {
  if (!from || !to || to.at <= from.at) return undefined;
  const ticksPerSec = 100; // USER_HZ
  const foreign = Math.max(0, to.busy - from.busy - (to.ours - from.ours));
  return (foreign / ticksPerSec / ((to.at - from.at) / 1000)) * 100;
}

/** Cores on this machine (for "% of the machine"). */
export const CORES = cpus().length;

/**
 * Milliseconds this process takes for a fixed piece of CPU work (hashing and JSON, the
 * kind of work a request does). On a shared VM the same code runs at different speeds from
 * one run to the next; taken before and after the run, this says how fast the machine was.
 */
export function referenceWorkMs(): number {
  const payload = JSON.stringify({ jobId: 1, leaseId: "3f2a9c01b7d41", attempt: 1, payload: { url: "https://example.com/a/b/c", n: [1, 2, 3] } });
  let best = Infinity;
  let acc = 0;
  // The fastest of five rounds: the first ones include JIT compilation.
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) {
      const hash = createHash("sha256").update(payload).update(String(i)).digest();
      acc += hash[0]! + (JSON.parse(payload) as { attempt: number }).attempt;
    }
    best = Math.min(best, performance.now() - started);
  }
  if (acc < 0) throw new Error("unreachable"); // keeps the loop from being optimized away
  return best;
}
