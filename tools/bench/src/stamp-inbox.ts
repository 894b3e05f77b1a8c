// The benchmark's side of the stamp channel: job starts and clock pongs that a worker
// process (the stamp plugin, or the pickup floor's bare worker) sends over IPC.
import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { preciseNow, type StampMessage } from "./clock.ts";

/** Job starts and clock pongs a worker process reports over IPC, by job id and ping id. */
export class StampInbox {
  private readonly starts = new Map<number, number>();
  private readonly pongs = new Map<number, number>();
  private waiter: (() => void) | undefined;

  constructor(proc: ChildProcess) {
    proc.on("message", (msg: StampMessage) => {
      if (msg.kind === "bench.stamp") this.starts.set(msg.jobId, msg.at);
      else if (msg.kind === "bench.pong") this.pongs.set(msg.id, msg.at);
      this.waiter?.();
    });
  }

  private async wait<T>(get: () => T | undefined, ms: number, what: string): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
      await Promise.race([new Promise<void>((res) => (this.waiter = res)), sleep(50)]);
    }
  }

  started(jobId: number): Promise<number> {
    return this.wait(() => this.starts.get(jobId), 10_000, `start of job ${jobId}`);
  }

  pong(id: number): Promise<number> {
    return this.wait(() => this.pongs.get(id), 5000, `pong ${id}`);
  }
}

/**
 * How far the worker's clock is from ours, from the fastest of `n` IPC round trips
 * (NTP-style: offset = their time − midpoint of ours; error ≤ half that round trip).
 */
export async function clockOffset(proc: ChildProcess, inbox: StampInbox, n = 50): Promise<{ offsetMs: number; errorMs: number }> {
  let best = { offsetMs: 0, errorMs: Infinity };
  for (let id = 1; id <= n; id++) {
    const sent = preciseNow();
    proc.send({ kind: "bench.ping", id });
    const theirs = await inbox.pong(id);
    const back = preciseNow();
    if ((back - sent) / 2 < best.errorMs) best = { offsetMs: theirs - (sent + back) / 2, errorMs: (back - sent) / 2 };
  }
  return best;
}
