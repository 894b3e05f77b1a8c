import { describe, expect, it } from "vitest";
import { yieldIfLong } from "../src/time-slice.ts";

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // synchronous work standing in for a run of small file copies
  }
}

describe("yieldIfLong", () => {
  it("lets the event loop turn once a slice of synchronous work is long, and not before", async () => {
    busy(15);
    let turned = false;
    setImmediate(() => (turned = true));
    const wait = yieldIfLong();
    expect(wait).toBeInstanceOf(Promise);
    // Every caller waits for the same turn (else each would get a turn and a slice of its own).
    expect(yieldIfLong()).toBe(wait);
    expect(turned).toBe(false);
    await wait;
    const resumed = performance.now();
    expect(turned).toBe(true);
    const next = yieldIfLong();
    // A new slice started with the turn: nothing to wait for, unless this machine stalled
    // for a whole slice between the two lines above.
    if (performance.now() - resumed < 5) expect(next).toBeUndefined();
  });
});
