import type { FastifyBaseLogger } from "fastify";
import type { LeaseEngine } from "./lease-engine.ts";

/** Runs the lease engine's expiry sweep on an interval until stopped. */
export function startReaper(engine: LeaseEngine, intervalMs: number, log: FastifyBaseLogger): () => void {
  const timer = setInterval(() => {
    try {
      let handled: number;
      do {
        handled = engine.reapExpired(500);
        if (handled > 0) log.info({ handled }, "requeued or failed expired leases");
      } while (handled === 500);
    } catch (err) {
      log.error({ err }, "reaper sweep failed; will try again");
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
