import { droverErrorCode, isTransientClientError } from "@drover/protocol";
import { setTimeout as sleep } from "node:timers/promises";

export interface RetryHooks {
  /** Called once when calls start failing (the coordinator is down or unreachable). */
  onDown?(error: unknown): void;
  /** Called once when a call succeeds again after onDown. */
  onUp?(): void;
}

/** Backoff with full jitter between 100 ms and 10 s. */
export function backoffMs(failures: number): number {
  return Math.random() * Math.min(10_000, 100 * 2 ** Math.min(failures, 10));
}

/**
 * Repeats `call` while the coordinator cannot be reached, with backoff and jitter, until
 * it answers or `signal` aborts. Errors the coordinator itself sent (a 4xx) are thrown
 * at once: retrying the same request cannot help.
 */
export async function untilReachable<T>(call: () => Promise<T>, signal: AbortSignal, hooks: RetryHooks = {}, state = { down: false }): Promise<T> {
  for (let failures = 0; ; failures++) {
    try {
      const value = await call();
      if (state.down) {
        state.down = false;
        hooks.onUp?.();
      }
      return value;
    } catch (error) {
      if (signal.aborted) throw error;
      if (!isTransientClientError(error) || droverErrorCode(error) === "UNAUTHENTICATED") throw error;
      if (!state.down) {
        state.down = true;
        hooks.onDown?.(error);
      }
      await sleep(backoffMs(failures), undefined, { signal }).catch(() => undefined);
      if (signal.aborted) throw error;
    }
  }
}
