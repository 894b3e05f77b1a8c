/**
 * Delay before attempt `attempts + 1` after `attempts` failures: exponential from `baseMs`,
 * capped at `maxMs`, with jitter in [50 %, 100 %] so a fleet of failures does not return
 * in lock-step.
 */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (0.5 + random() * 0.5));
}
