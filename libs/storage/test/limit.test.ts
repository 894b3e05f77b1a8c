import { describe, expect, it } from "vitest";
import { eachLimit, eachLimitAsync } from "../src/limit.ts";

const tick = (ms = 1): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("eachLimit", () => {
  it("runs at most `concurrency` at once and throws the first failure after the running ones end", async () => {
    let running = 0;
    let most = 0;
    const ended: number[] = [];
    const work = async (i: number): Promise<void> => {
      running++;
      most = Math.max(most, running);
      await tick(i === 2 ? 1 : 5);
      running--;
      if (i === 2) throw new Error("two");
      ended.push(i);
    };
    await expect(eachLimit([0, 1, 2, 3, 4, 5, 6], 3, work)).rejects.toThrow("two");
    expect(most).toBe(3);
    expect(running).toBe(0);
    expect(ended.sort()).toEqual([0, 1]); // started before the failure; nothing after it
  });
});

describe("eachLimitAsync", () => {
  /** Yields 0..count-1, one every `gapMs`, logging what happens; `failAt` throws there. */
  function source(count: number, log: string[], gapMs = 2, failAt?: number): AsyncIterable<number> {
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for (let i = 0; i < count; i++) {
            await tick(gapMs);
            if (i === failAt) throw new Error(`listing failed at ${i}`);
            log.push(`yield ${i}`);
            yield i;
          }
          log.push("listed all");
        } finally {
          log.push("listing closed");
        }
      },
    };
  }

  it("starts work on the first item while later ones are still coming, within the limit", async () => {
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await eachLimitAsync(source(20, log), 4, async (i) => {
      running++;
      most = Math.max(most, running);
      log.push(`work ${i}`);
      await tick(10);
      running--;
      done.push(i);
    });
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(most).toBe(4);
    expect(log.indexOf("work 0")).toBeLessThan(log.indexOf("yield 5"));
    expect(log).toContain("listed all");
    expect(log.at(-1)).toMatch(/^work|listing closed/);
  });

  it("reads up to `readAhead` items ahead of the work, no further", async () => {
    const log: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const run = eachLimitAsync(source(100, log, 0), 2, () => gate, 5);
    await tick(50);
    // Two items taken by the lanes, five waiting: seven read, the listing paused.
    expect(log.filter((l) => l.startsWith("yield"))).toHaveLength(7);
    release();
    await run;
    expect(log).toContain("listed all");
  });

  it("starts no work after a failure, and reports that failure even when closing the iteration fails", async () => {
    const started: number[] = [];
    let closed = false;
    const items: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => {
        let i = 0;
        return {
          next: async () => ({ done: false, value: i++ }),
          return: async () => {
            closed = true;
            throw new Error("close failed");
          },
        };
      },
    };
    const run = eachLimitAsync(items, 3, async (i) => {
      started.push(i);
      await tick(i === 1 ? 1 : 20);
      if (i === 1) throw new Error("item 1");
    });
    await expect(run).rejects.toThrow("item 1");
    expect(closed).toBe(true);
    expect(started).toEqual([0, 1, 2]);
  });

  it("stops pulling after a failed item, closes the iteration and throws once the running ones end", async () => {
    const log: string[] = [];
    let running = 0;
    const work = async (i: number): Promise<void> => {
      running++;
      await tick(3);
      running--;
      if (i === 3) throw new Error("item 3");
    };
    await expect(eachLimitAsync(source(1000, log), 2, work, 2)).rejects.toThrow("item 3");
    expect(running).toBe(0);
    expect(log).toContain("listing closed");
    expect(log).not.toContain("listed all");
    expect(log.filter((l) => l.startsWith("yield")).length).toBeLessThan(10);
  });

  it("throws a failure of the iteration itself after the running items end", async () => {
    const log: string[] = [];
    const finished: number[] = [];
    const work = async (i: number): Promise<void> => {
      await tick(5);
      finished.push(i);
    };
    await expect(eachLimitAsync(source(10, log, 2, 4), 3, work)).rejects.toThrow("listing failed at 4");
    expect(finished.sort()).toEqual([0, 1, 2, 3]);
  });

  it("does nothing for an empty iteration, and pulls one at a time from iterators that need it", async () => {
    await eachLimitAsync(source(0, []), 8, async () => {
      throw new Error("no item expected");
    });
    // A hand-written iterator that breaks if asked again before it has answered.
    let busy = false;
    let next = 0;
    const strict: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        async next() {
          if (busy) throw new Error("asked twice at once");
          busy = true;
          await tick(1);
          busy = false;
          return next < 30 ? { done: false, value: next++ } : { done: true, value: undefined };
        },
      }),
    };
    const seen: number[] = [];
    await eachLimitAsync(strict, 8, async (i) => void seen.push(i));
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});
