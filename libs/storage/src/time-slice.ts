// Synchronous file-system calls for small files (SYNC_FILE_BYTES below)
// are cheaper than thread-pool round trips, but a loop of them never returns to the event
// loop: a tree of 100,000 small files would hold timers, sockets and lease heartbeats for
// tens of seconds. Callers doing such work call `yieldIfLong()` before each piece: after
// SLICE_MS of work it waits one turn of the event loop (setImmediate), so nothing else waits
// longer than about that.

/**
 * Files up to this size are written, copied and renamed with synchronous calls (local
 * storage, small downloads). Such a call takes about as long as cp takes per file (0.3 ms
 * here); larger files keep the thread pool, so no single call holds the loop for long.
 */
export const SYNC_FILE_BYTES = 256 * 1024;

/** The longest stretch of synchronous work between two turns of the event loop. */
const SLICE_MS = 10;

let sliceStarted = performance.now();
/** The turn every caller waits for once the slice is over. */
let pending: Promise<void> | undefined;

/**
 * Undefined while the current slice is short; else a promise that resolves after one turn of
 * the event loop. Concurrent callers (the lanes of a transfer) share that promise and the one
 * slice after it: each with its own turn and fresh slice, eight lanes held the loop for 80 ms.
 */
export function yieldIfLong(): Promise<void> | undefined {
  if (pending !== undefined) return pending;
  if (performance.now() - sliceStarted < SLICE_MS) return undefined;
  pending = new Promise((resolve) =>
    setImmediate(() => {
      pending = undefined;
      sliceStarted = performance.now();
      resolve();
    }),
  );
  return pending;
}
