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
    await yieldIfLong(); // whatever ran before this test: start a fresh slice
    expect(yieldIfLong()).toBeUndefined();
    busy(15);
    let turned = false;
    setImmediate(() => (turned = true));
    const wait = yieldIfLong();
    expect(wait).toBeInstanceOf(Promise);
    expect(turned).toBe(false);
    await wait;
    expect(turned).toBe(true);
    expect(yieldIfLong()).toBeUndefined(); // a new slice has started
  });
});
