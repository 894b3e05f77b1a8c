/**
 * Pure statistics for the benchmark: percentiles by nearest rank (the value below which
 * p% of samples fall, always one of the samples, never interpolated), medians of repeated
 * runs, and rates. Nothing here reads a clock, so it is tested without timing.
 */

/** Summary of a latency sample, in the unit of the samples. */
export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Ascending copy; NaN and infinities are refused because they would hide a measuring bug. */
export function sortedCopy(values: readonly number[]): number[] {
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`not a finite sample: ${v}`);
  return [...values].sort((a, b) => a - b);
}

/**
 * The p-th percentile (0 < p ≤ 100) of an ascending array by nearest rank:
 * the smallest sample with at least p% of the samples at or below it.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError("percentile of an empty sample");
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const s = sortedCopy(values);
  if (s.length === 0) throw new RangeError("median of an empty sample");
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(values: readonly number[]): Summary {
  const s = sortedCopy(values);
  if (s.length === 0) throw new RangeError("summary of an empty sample");
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    count: s.length,
    min: s[0]!,
    mean: sum / s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1]!,
  };
}

/** Events per second over `ms` milliseconds. */
export function perSecond(count: number, ms: number): number {
  if (!(ms > 0)) throw new RangeError(`rate over a non-positive span: ${ms} ms`);
  return (count * 1000) / ms;
}

/** Rounds for display and JSON: 3 significant decimals below 10, fewer above. */
export function round(value: number): number {
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
