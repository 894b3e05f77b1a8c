import { describe, expect, it } from "vitest";
import { median, percentile, perSecond, round, sortedCopy, summarize } from "../src/stats.ts";

describe("percentile (nearest rank)", () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it("returns the sample at rank ceil(p·n)", () => {
    expect(percentile(oneToHundred, 50)).toBe(50);
    expect(percentile(oneToHundred, 99)).toBe(99);
    expect(percentile(oneToHundred, 100)).toBe(100);
    expect(percentile(oneToHundred, 0.5)).toBe(1);
  });

  it("never interpolates: the answer is always one of the samples", () => {
    expect(percentile([10, 20], 50)).toBe(10);
    expect(percentile([10, 20], 51)).toBe(20);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 1000], 99)).toBe(1000);
  });

  it("of one sample is that sample", () => {
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
  });

  it("refuses an empty sample and an out-of-range p", () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe("median", () => {
  it("takes the middle of an odd count and the mean of the middle two of an even one", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("does not reorder its input", () => {
    const input = [3, 1, 2];
    median(input);
    expect(input).toEqual([3, 1, 2]);
  });
});

describe("summarize", () => {
  it("reports count, min, mean, p50, p90, p99 and max", () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1000..1, unsorted
    expect(summarize(values)).toEqual({ count: 1000, min: 1, mean: 500.5, p50: 500, p90: 900, p99: 990, max: 1000 });
  });

  it("refuses NaN, which would otherwise sort anywhere and corrupt every percentile", () => {
    expect(() => sortedCopy([1, Number.NaN])).toThrow(RangeError);
  });
});

describe("perSecond and round", () => {
  it("turns a count over milliseconds into a rate", () => {
    expect(perSecond(5000, 2500)).toBe(2000);
    expect(() => perSecond(1, 0)).toThrow(RangeError);
  });

  it("keeps fewer decimals as values grow", () => {
    expect(round(0.123456)).toBe(0.123);
    expect(round(12.3456)).toBe(12.35);
    expect(round(123.456)).toBe(123.5);
    expect(round(12345.6)).toBe(12346);
  });
});
