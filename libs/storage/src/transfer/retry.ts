import { StorageError, abortedError, toStorageError } from "../errors.ts";

export interface RetryOptions {
  /** Attempts after the first. Default 3. */
  retries?: number;
  /** First pause in ms; doubles each time, with full jitter. Default 200. */
  baseDelayMs?: number;
  /** Longest pause in ms. Default 5,000. */
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** Told about each failure that will be retried. */
  onRetry?: (error: StorageError, attempt: number) => void;
}

/** Runs `op`, retrying while it throws a retryable StorageError. */
export async function withRetry<T>(op: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retries = options.retries ?? 3;
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await op(attempt);
    } catch (raw) {
      const error = toStorageError(raw);
      if (!error.retryable || attempt >= retries || options.signal?.aborted) throw error;
      options.onRetry?.(error, attempt + 1);
      await sleep(Math.random() * Math.min(max, base * 2 ** attempt), options.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
