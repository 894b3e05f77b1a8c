import { setTimeout as sleep } from "node:timers/promises";
import type { Harness } from "./harness.ts";
import { perSecond } from "./stats.ts";

/** One measured drain: `jobs` jobs from the top of a paused-then-resumed queue. */
export interface DrainWindow {
  jobs: number;
  /** From the first claim to the last completion among them, as the coordinator stamped them. */
  ms: number;
  jobsPerSec: number;
  /** True when the window hit its time limit before `jobs` were done (the rate is over what was done). */
  timedOut: boolean;
}

async function until(check: () => boolean, timeoutMs: number, pollMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

/**
 * Measures one drain window. Before: the queue is paused, holds at least `jobs` queued
 * jobs, and no lease is out; the workers are running and long-polling. Then the queue is
 * resumed, and once `jobs` of its jobs have succeeded it is paused again and the leases
 * still out are let finish, so the next window starts from the same state.
 *
 * The span runs from the first claim to the `jobs`-th completion, both stamped by the
 * coordinator: the resume call's own cost (it counts the queue's jobs) stays outside,
 * and how often we poll does not matter.
 */
export async function drainWindow(h: Harness, queue: string, jobs: number, timeoutMs: number): Promise<DrainWindow> {
  const since = Date.now();
  await h.admin.queues.resume.mutate({ queue });
  const done = await until(() => h.probe.finishedSince(queue, since) >= jobs, timeoutMs, 25);
  await h.admin.queues.pause.mutate({ queue });
  if (!(await until(() => h.probe.leased() === 0, 60_000, 25))) throw new Error(`${h.name}: leases still out 60 s after pausing ${queue}`);
  const failed = h.probe.failed();
  if (failed > 0) throw new Error(`${h.name}: ${failed} no-op jobs failed; the figures would be wrong`);
  const span = h.probe.span(queue, since, jobs);
  const ms = Math.max(1, span.lastFinish - span.firstStart);
  return { jobs: span.jobs, ms, jobsPerSec: perSecond(span.jobs, ms), timedOut: !done };
}

/** Pauses `queue` (creating it paused if it has no jobs yet). */
export async function pauseQueue(h: Harness, queue: string): Promise<void> {
  await h.admin.queues.pause.mutate({ queue });
}
