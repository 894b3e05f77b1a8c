import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

// Helper threads for local tree copies (local-dirs.ts). The main thread and its helpers
// take files from one shared counter, so a helper that is slow to start, or busy with a big
// file, leaves the rest to the others, and the main thread never waits for a helper to start.
//
// Why threads: a small file's copy is a few system calls, and the thread pool's round trips
// cost more than the calls (2,000 × 50 KB here: async copyFile + rename, one at a time,
// 805 ms; with 8 at once 287 ms; the main thread's synchronous calls alone 368 ms). A
// helper thread makes the same synchronous calls as the main thread, beside it: main thread
// plus one helper, 261–297 ms.

/** At most this many helpers per job (and per process). */
const MAX_HELPERS = 7;

/** Where things are in a job's shared Int32Array. */
const LAYOUT = {
  /** The next file to claim. */
  NEXT: 0,
  /** 1: claim no more files, rename nothing more (an abort or a failure). */
  STOP: 1,
  /** One slot per helper of the job: 1 while it is taking files. */
  SLOTS: 2,
  /** The files' states from here on. */
  BASE: 2 + MAX_HELPERS,
  /** File states: claimed or not started, copied by a helper, handed back, copied here. */
  PENDING: 0,
  COPIED: 1,
  HANDED_BACK: 2,
  DONE_HERE: 3,
};
export const FILE_STATE = { PENDING: LAYOUT.PENDING, COPIED: LAYOUT.COPIED, HANDED_BACK: LAYOUT.HANDED_BACK, DONE_HERE: LAYOUT.DONE_HERE };

interface Helper {
  worker: Worker;
  /** Settles the job it is on: "finished", or "died" when the thread has gone. */
  settle?: ((how: "finished" | "died") => void) | undefined;
  /** Called as it leaves the idle list for a job. */
  takeJob?: () => void;
}

/** Helpers between jobs, unref'd: they never keep a process alive. */
const idle: Helper[] = [];
const all = new Set<Helper>();
/** A helper idle this long ends: a thread holds some memory of its own. */
const IDLE_MS = 30_000;

/** The most helpers alive at once in this process: one per core beside the main thread. */
function helperLimit(): number {
  return Math.min(MAX_HELPERS, availableParallelism() - 1);
}

/** A new helper thread, or undefined when the system will not start one (a thread limit). */
function startHelper(): Helper | undefined {
  let worker: Worker;
  try {
    worker = new Worker(new URL("./copy-helper-thread.mjs", import.meta.url));
  } catch {
    return undefined; // the main thread copies alone
  }
  const helper: Helper = { worker };
  all.add(helper);
  const settle = (how: "finished" | "died"): void => {
    const done = helper.settle;
    helper.settle = undefined;
    done?.(how);
  };
  let idleTimer: NodeJS.Timeout | undefined;
  helper.worker.on("message", () => {
    helper.worker.unref();
    idle.push(helper);
    idleTimer = setTimeout(() => void helper.worker.terminate(), IDLE_MS).unref();
    settle("finished");
  });
  helper.takeJob = () => clearTimeout(idleTimer);
  // An error ends the thread; the exit that follows settles its job.
  helper.worker.on("error", () => undefined);
  helper.worker.on("exit", () => {
    clearTimeout(idleTimer);
    all.delete(helper);
    const at = idle.indexOf(helper);
    if (at >= 0) idle.splice(at, 1);
    settle("died");
  });
  return helper;
}

/**
 * Every file's source, temp name and destination, NUL-separated (no path holds a NUL), in
 * one shared buffer that all helpers read: sent as arrays, 100,000 files took 85 ms and
 * 30 MB per helper to clone, on the main thread.
 */
function sharedPaths(paths: readonly (readonly [string, string, string])[]): { buffer: SharedArrayBuffer; length: number } {
  const joined = paths.map((p) => p.join("\0")).join("\0");
  const buffer = new SharedArrayBuffer(Math.max(1, Buffer.byteLength(joined)));
  return { buffer, length: Buffer.from(buffer).write(joined) };
}

/** The files of one tree copy, shared with its helpers, and the helpers on it. */
export class CopyLanes {
  readonly state: Int32Array;
  private readonly count: number;
  private readonly runs: { slot: number; helper: Helper; settled: boolean; done: Promise<void> }[] = [];

  /**
   * `paths`: each file's source, temp name and destination, in claim order. `helpers`: how
   * many threads to ask for; fewer run when other copies have the rest, or the machine has
   * fewer cores (one is the main thread's).
   */
  constructor(paths: readonly (readonly [string, string, string])[], helpers: number) {
    this.count = paths.length;
    this.state = new Int32Array(new SharedArrayBuffer(4 * (LAYOUT.BASE + paths.length)));
    const wanted = Math.min(helpers, helperLimit());
    if (wanted <= 0) return;
    let shared: { buffer: SharedArrayBuffer; length: number } | undefined;
    for (let slot = 0; slot < wanted; slot++) {
      const helper = idle.pop() ?? (all.size < helperLimit() ? startHelper() : undefined);
      if (helper === undefined) break;
      helper.takeJob?.();
      const run = { slot, helper, settled: false, done: Promise.resolve() };
      run.done = new Promise<void>((resolve) => {
        helper.settle = () => {
          run.settled = true;
          resolve();
        };
      });
      shared ??= sharedPaths(paths);
      helper.worker.ref(); // a job in progress keeps the process alive, as the copy's promise does
      helper.worker.postMessage({ buffer: this.state.buffer, paths: shared.buffer, pathsLength: shared.length, slot, layout: LAYOUT });
      this.runs.push(run);
    }
  }

  /** The next file for the main thread, or undefined when all are taken. */
  claim(): number | undefined {
    const i = Atomics.add(this.state, LAYOUT.NEXT, 1);
    return i < this.count ? i : undefined;
  }

  fileState(i: number): number {
    return Atomics.load(this.state, LAYOUT.BASE + i);
  }

  setDoneHere(i: number): void {
    Atomics.store(this.state, LAYOUT.BASE + i, LAYOUT.DONE_HERE);
  }

  /** Helpers that are taking files and have not ended. */
  private running(): Promise<void>[] {
    return this.runs.filter((r) => !r.settled && Atomics.load(this.state, LAYOUT.SLOTS + r.slot) === 1).map((r) => r.done);
  }

  /**
   * Once every file is claimed: waits until a running helper ends, and says false when none
   * runs. A file still PENDING then was claimed by a helper that died with it.
   */
  async helperEnded(): Promise<boolean> {
    const running = this.running();
    if (running.length === 0) return false;
    await Promise.race(running);
    return true;
  }

  /**
   * Stops the helpers and waits for those that are running (their current file). One that
   * has not started yet sees the stop before it claims anything, so it is not waited for.
   */
  async stop(): Promise<void> {
    Atomics.store(this.state, LAYOUT.STOP, 1);
    await Promise.all(this.running());
  }
}

/** For tests: ends every helper thread, busy or not, as a crash would. */
export async function endHelpersForTest(): Promise<number> {
  const helpers = [...all];
  await Promise.all(helpers.map((h) => h.worker.terminate()));
  return helpers.length;
}
