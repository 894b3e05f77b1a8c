// A helper thread of local tree copies (started by copy-helpers.ts). Plain JavaScript, so a
// worker thread can load it however the main thread runs TypeScript (tsx, vitest, tsc output).
//
// For each job it takes the next file from a counter shared with the main thread and copies
// it as the main thread does: into an exclusive temp file, then renamed into place, with
// synchronous calls (a thread of its own may block). Anything that fails is handed back for
// the main thread to copy again, with its retries and its error mapping: nothing here
// decides what an error means.
import { constants, copyFileSync, renameSync, rmSync } from "node:fs";
import { parentPort } from "node:worker_threads";

/** @param {string} path */
function removeQuietly(path) {
  try {
    rmSync(path, { force: true });
  } catch {
    // the main thread copies this file again under another temp name
  }
}

parentPort?.on("message", (/** @type {{ buffer: SharedArrayBuffer, paths: SharedArrayBuffer, pathsLength: number, slot: number, layout: Record<string, number> }} */ job) => {
  const { NEXT, STOP, SLOTS, BASE, COPIED, HANDED_BACK } = job.layout;
  const state = new Int32Array(job.buffer);
  // Each file's source, temp name and destination, NUL-separated.
  const paths = Buffer.from(job.paths).toString("utf8", 0, job.pathsLength).split("\0");
  const count = paths.length / 3;
  // Marked running before the first claim: the main thread waits only for running helpers.
  Atomics.store(state, SLOTS + job.slot, 1);
  while (Atomics.load(state, STOP) === 0) {
    const i = Atomics.add(state, NEXT, 1);
    if (i >= count) break;
    const from = paths[3 * i];
    const temp = paths[3 * i + 1];
    const to = paths[3 * i + 2];
    let outcome = HANDED_BACK;
    try {
      copyFileSync(from, temp, constants.COPYFILE_EXCL);
      // A stop (an abort, a failure elsewhere) while this file was copied: it is not renamed.
      if (Atomics.load(state, STOP) === 0) {
        renameSync(temp, to);
        outcome = COPIED;
      } else removeQuietly(temp);
    } catch (error) {
      // EEXIST from the create: the temp name is another writer's, and so is that file.
      const { code, syscall } = /** @type {{ code?: string, syscall?: string }} */ (error);
      if (!(code === "EEXIST" && syscall !== "rename")) removeQuietly(temp);
    }
    Atomics.store(state, BASE + i, outcome);
  }
  Atomics.store(state, SLOTS + job.slot, 0);
  parentPort?.postMessage("finished");
});
