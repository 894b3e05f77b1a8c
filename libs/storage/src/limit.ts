/**
 * Runs `work` for every item, at most `concurrency` at once. The first failure stops new
 * work and is thrown once the items already running have ended (so nothing is left running
 * behind the caller's back).
 */
export async function eachLimit<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (rejected !== undefined) throw rejected.reason;
}

/**
 * eachLimit over items that arrive as they are produced (a paged listing): work starts on
 * the first item while later ones are still coming. One producer reads up to `readAhead`
 * items ahead of the work (so a listing's next page is fetched while the lanes are busy,
 * and whatever counts items as they are read sees the totals grow well ahead of the work);
 * it pulls one item at a time, so any async iterable will do. The first failure (of the
 * work or of the iteration) stops new work; an iteration not yet finished is ended (its
 * `return`, so a listing stops paging); and that first failure is thrown once the items
 * already running have ended.
 */
export async function eachLimitAsync<T>(items: AsyncIterable<T>, concurrency: number, work: (item: T) => Promise<void>, readAhead = 10_000): Promise<void> {
  const iterator = items[Symbol.asyncIterator]();
  const queue: T[] = [];
  let head = 0;
  let listed = false; // the iteration has ended, by exhaustion or by a failure of its own
  let failed = false;
  let firstError: unknown;
  const fail = (error: unknown): void => {
    if (!failed) firstError = error;
    failed = true;
    wakeAll();
  };
  // Lanes waiting for an item, and the producer waiting for room.
  let waiting: (() => void)[] = [];
  let producerWaiting: (() => void) | undefined;
  function wakeAll(): void {
    const lanes = waiting;
    waiting = [];
    for (const wake of lanes) wake();
    producerWaiting?.();
  }

  const produce = async (): Promise<void> => {
    try {
      while (!failed) {
        if (queue.length - head >= readAhead) {
          await new Promise<void>((resolve) => (producerWaiting = resolve));
          producerWaiting = undefined;
          continue;
        }
        const next = await iterator.next();
        if (next.done === true) break;
        queue.push(next.value);
        waiting.shift()?.();
      }
      if (!failed) listed = true;
    } catch (error) {
      listed = true; // an iterator that threw is finished
      fail(error);
    } finally {
      if (listed) wakeAll();
    }
  };

  const lane = async (): Promise<void> => {
    while (!failed) {
      if (head < queue.length) {
        const item = queue[head++]!;
        if (head > 1024 && head * 2 > queue.length) queue.splice(0, head), (head = 0);
        producerWaiting?.();
        try {
          await work(item);
        } catch (error) {
          fail(error);
        }
      } else if (listed) return;
      else await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };

  await Promise.all([produce(), ...Array.from({ length: Math.max(1, concurrency) }, lane)]);
  if (failed) {
    if (!listed) {
      try {
        await iterator.return?.();
      } catch {
        // the failure that stopped the work is the one to report
      }
    }
    throw firstError;
  }
}
