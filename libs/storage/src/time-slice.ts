// Synchronous file-system calls for small files (see SYNC_COPY_BYTES in backends/local.ts)
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

/** Resolves at once while the current slice is short; else after one turn of the event loop. */
export function yieldIfLong(): Promise<void> | undefined {
  const now = performance.now();
  if (now - sliceStarted < SLICE_MS) return undefined;
  return new Promise((resolve) =>
    setImmediate(() => {
      sliceStarted = performance.now();
      resolve();
    }),
  );
}
