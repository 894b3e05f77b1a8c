import { setTimeout as sleep } from "node:timers/promises";

/** Polls `check` until it returns a value (not undefined or false), or fails after `ms`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
