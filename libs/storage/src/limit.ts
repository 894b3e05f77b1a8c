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
