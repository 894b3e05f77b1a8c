// The retry budget of one download attempt: exponential backoff with jitter between
// re-requests, a log line for each, and a limit on failures in a row. Every re-request
// (a retry from scratch, a restart, a resume) draws on the same budget, so a download that
// keeps breaking stops; one that keeps getting further earns its budget back.
import { setTimeout as sleep } from "node:timers/promises";
import { DownloadError } from "./errors.ts";

export interface RetryBudgetOptions {
  /** Failures in a row (without new bytes in between) that may be retried. */
  retries: number;
  /** Aborts the wait between tries. */
  signal: AbortSignal;
  log(line: string): void;
}

/** The first delay, doubled per failure in a row up to CAP_MS. */
const BASE_MS = 200;
const CAP_MS = 10_000;
/** A server may ask for a longer pause, but the attempt holds a lease meanwhile. */
const RETRY_AFTER_CAP_MS = 60_000;

export class RetryBudget {
  /** Re-requests made so far (the result's `retries`). */
  used = 0;
  private inARow = 0;
  private furthest = 0;

  constructor(private readonly options: RetryBudgetOptions) {}

  /** Records how far the body has got: passing the furthest point so far resets the failures in a row. */
  reached(offset: number): void {
    if (offset > this.furthest) {
      this.furthest = offset;
      this.inARow = 0;
    }
  }

  /**
   * Waits before the next try of `failure`, or throws it (saying how many retries it took)
   * when the budget is spent.
   */
  async next(failure: DownloadError): Promise<void> {
    const { retries, signal } = this.options;
    if (failure.final) throw failure;
    if (this.inARow >= retries) {
      throw new DownloadError(failure.code, retries === 0 ? failure.message : `${failure.message} (gave up after ${retries} retries in a row)`, {
        cause: failure.cause ?? failure,
        final: true,
      });
    }
    this.inARow++;
    this.used++;
    const delay = this.delayMs(failure.retryAfterMs);
    this.options.log(`download.url: ${failure.message}; retry ${this.inARow}/${retries} in ${delay} ms`);
    await sleep(delay, undefined, { signal });
  }

  private delayMs(retryAfterMs: number | undefined): number {
    const exponential = Math.min(CAP_MS, BASE_MS * 2 ** (this.inARow - 1));
    // Half fixed, half random: clients that failed together do not come back together.
    const backoff = Math.round(exponential / 2 + Math.random() * (exponential / 2));
    return Math.max(backoff, Math.min(retryAfterMs ?? 0, RETRY_AFTER_CAP_MS));
  }
}
