/**
 * In-memory wake-ups for long-polling acquires. A waiter sleeps until a job of one of its
 * types may have become claimable (submitted, released, requeued) or its deadline passes.
 * Wake-ups are hints: a woken waiter re-runs the claim, and waiters also re-check every
 * `recheckMs`, so a missed hint (a delayed job coming due, another replica's insert) costs
 * latency, never a lost job.
 */
/** setTimeout fires at once for longer delays; a far-future job is rechecked every ~24 days. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Wakeups {
  private readonly waiters = new Set<{ types: ReadonlySet<string>; wake: () => void }>();
  private dueTimer: NodeJS.Timeout | undefined;
  private dueAt = Infinity;

  constructor(private readonly recheckMs: number) {}

  /** Resolves on a hint, after `recheckMs`, at `deadline`, or on abort. */
  wait(types: ReadonlySet<string>, deadline: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const ms = Math.max(0, Math.min(this.recheckMs, deadline - Date.now()));
      const waiter = { types, wake: () => done() };
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      signal?.addEventListener("abort", done);
      this.waiters.add(waiter);
    });
  }

  /** Wake up to `count` waiters that take `type` (oldest first). */
  notify(type: string, count = Infinity): void {
    let left = count;
    for (const waiter of this.waiters) {
      if (left <= 0) break;
      if (waiter.types.has(type)) {
        waiter.wake();
        left--;
      }
    }
  }

  notifyAll(): void {
    for (const waiter of [...this.waiters]) waiter.wake();
  }

  /** Wake everyone when a delayed job comes due (the earliest one this process knows of). */
  notifyAt(at: number): void {
    if (at >= this.dueAt) return;
    clearTimeout(this.dueTimer);
    this.dueAt = at;
    this.dueTimer = setTimeout(() => {
      this.dueAt = Infinity;
      this.notifyAll();
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
    this.dueTimer.unref();
  }

  close(): void {
    clearTimeout(this.dueTimer);
    this.notifyAll();
  }
}
