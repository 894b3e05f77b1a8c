import { readFileSync, readdirSync } from "node:fs";

/**
 * Notices a process group that has stopped moving data, from the outside: the bytes its
 * processes have read and written so far (`rchar` + `wchar` in /proc/PID/io, sockets and
 * pipes included), sampled every few seconds.
 *
 * Why not rsync's own `--timeout`: with it, a 200 MB upload to an rsync daemon took 5–20%
 * longer (8 rounds, each slower than raw rsync's run beside it). Linux only; elsewhere there
 * is no /proc and the caller keeps `--timeout`.
 */
export const CAN_WATCH_IDLE = process.platform === "linux";

/** rchar + wchar summed over the live processes of group `pgid`; undefined when none is left. */
export function groupIoBytes(pgid: number): number | undefined {
  let total = 0;
  let found = false;
  for (const name of readdirSync("/proc")) {
    if (name.charCodeAt(0) > 57) continue; // not a PID (digits sort before letters)
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so fields are
      // counted from the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // Zombies are left out: they move nothing, and an init that does not reap them (as in
      // some containers) keeps them, with an old group id a new process may reuse.
      if (Number(fields[2]) !== pgid || fields[0] === "Z" || fields[0] === "X") continue;
      const io = readFileSync(`/proc/${name}/io`, "utf8");
      total += Number(/^rchar: (\d+)/m.exec(io)?.[1] ?? 0) + Number(/^wchar: (\d+)/m.exec(io)?.[1] ?? 0);
      found = true;
    } catch {
      // the process ended between the listing and the read
    }
  }
  return found ? total : undefined;
}

/**
 * Calls `onIdle` once when group `pgid` has moved no byte for `idleMs`. Returns the stop
 * function. Samples every idleMs / 6 (at most 10 s): a stall is noticed within 1.2 × idleMs.
 */
export function watchIdle(pgid: number, idleMs: number, onIdle: () => void, sample: (pgid: number) => number | undefined = groupIoBytes): () => void {
  let last = sample(pgid);
  let quietSince = performance.now();
  const timer = setInterval(
    () => {
      const now = sample(pgid);
      if (now === undefined) return; // gone: the exit handler stops the watch
      if (now !== last) {
        last = now;
        quietSince = performance.now();
      } else if (performance.now() - quietSince >= idleMs) {
        clearInterval(timer);
        onIdle();
      }
    },
    Math.min(10_000, Math.max(50, idleMs / 6)),
  );
  timer.unref();
  return () => clearInterval(timer);
}
