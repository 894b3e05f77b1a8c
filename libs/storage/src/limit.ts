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
 * the first item while later ones are still coming. Items are pulled one at a time, so any
 * async iterable will do. The first failure (of the work or of the iteration) stops new
 * work; the iteration is ended (its `return`, so a listing stops paging), and the failure is
 * thrown once the items already running have ended.
 */
export async function eachLimitAsync<T>(items: AsyncIterable<T>, concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.asyncIterator]();
  let failed = false;
  let exhausted = false;
  // One pull at a time: not every iterator may be asked again before it has answered.
  let pulling: Promise<unknown> = Promise.resolve();
  const pull = (): Promise<IteratorResult<T>> => {
    const next = pulling.then(() => (exhausted || failed ? ({ done: true, value: undefined } as const) : iterator.next()));
    pulling = next.catch(() => undefined);
    return next;
  };
  const lane = async (): Promise<void> => {
    while (!failed) {
      let next: IteratorResult<T>;
      try {
        next = await pull();
      } catch (error) {
        failed = true;
        exhausted = true; // an iterator that threw is finished
        throw error;
      }
      if (next.done === true) {
        exhausted = true;
        return;
      }
      try {
        await work(next.value);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.max(1, concurrency) }, lane));
  if (!exhausted) await iterator.return?.();
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (rejected !== undefined) throw rejected.reason;
}
