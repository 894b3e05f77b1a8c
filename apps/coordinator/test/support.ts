import { droverErrorCode, type DroverErrorCode, type JobSubmitInput, type Lease, type LeaseRef } from "@drover/protocol";
import { TRPCClientError } from "@trpc/client";
import type { TestCoordinator } from "./helpers.ts";

/** The fencing triple of a lease, as complete/fail/heartbeat/release take it. */
export function ref(lease: Lease): LeaseRef {
  return { jobId: lease.jobId, attempt: lease.attempt, leaseId: lease.leaseId };
}

export interface Failure {
  code: DroverErrorCode | undefined;
  httpStatus: number | undefined;
  message: string;
}

/** Awaits a call that must fail and returns what the coordinator said. */
export async function failureOf(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof TRPCClientError)) throw err;
    const data = err.data as { httpStatus?: number } | undefined;
    return { code: droverErrorCode(err), httpStatus: data?.httpStatus, message: err.message };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` until it returns something other than undefined, or fails after a generous
 * deadline. For waiting on the reaper or a timed pause — never to assert speed.
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, deadlineMs = 20_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The kinds of a job's events, oldest first. */
export async function eventKinds(t: TestCoordinator, id: number): Promise<string[]> {
  return (await t.admin.jobs.events.query({ id })).map((e) => e.kind);
}

/** Submits jobs as admin and returns their ids in order. */
export async function submitAll(t: TestCoordinator, jobs: JobSubmitInput[]): Promise<number[]> {
  const results = await t.admin.jobs.submitBatch.mutate({ jobs });
  return results.map((r) => r.id);
}

/** Waits until the job reaches `status` (e.g. the reaper acting on an expired lease). */
export function statusBecomes(t: TestCoordinator, id: number, status: string) {
  return eventually(`job ${id} to become ${status}`, async () => {
    const job = await t.admin.jobs.get.query({ id });
    return job.status === status ? job : undefined;
  });
}
