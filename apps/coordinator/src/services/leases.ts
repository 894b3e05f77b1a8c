import type { AcquireRequest, ClaimNext, CompleteRequest, LeaseRecord, LeaseRef, LeasesService, Principal, JobError } from "@drover/protocol";
import type { LeaseEngine } from "../engine/lease-engine.ts";
import type { EngineState } from "../engine/state.ts";
import type { WorkersServiceImpl } from "./workers.ts";

export class LeasesServiceImpl implements LeasesService {
  constructor(
    private readonly state: EngineState,
    private readonly engine: LeaseEngine,
    private readonly workers: WorkersServiceImpl,
    private readonly isClosing: () => boolean,
  ) {}

  /**
   * Claims at once if anything is runnable; otherwise long-polls until a wake-up hint,
   * the deadline, shutdown, or the client going away.
   */
  async acquire(by: Principal, req: AcquireRequest, signal?: AbortSignal): Promise<LeaseRecord[]> {
    this.workers.assertOwnWorker(by, req.workerId);
    const deadline = Date.now() + req.waitMs;
    const types = new Set(req.types);
    for (;;) {
      const leases = this.engine.claim(req.workerId, req.types, req.max, req.queues);
      if (leases.length > 0 || Date.now() >= deadline) return leases;
      await this.state.wakeups.wait(types, deadline, signal);
      // Never claim for a client that has gone, or while shutting down: nobody would run it.
      if (signal?.aborted || this.isClosing()) return [];
    }
  }

  heartbeat(by: Principal, req: { workerId: string; leases: (LeaseRef & { progress?: { fraction: number; message?: string | undefined } | undefined; logs?: string[] | undefined })[] }) {
    this.workers.assertOwnWorker(by, req.workerId);
    return this.engine.heartbeat(req.workerId, req.leases);
  }

  complete(by: Principal, req: { workerId: string; leases: CompleteRequest[]; next?: ClaimNext | undefined }) {
    this.workers.assertOwnWorker(by, req.workerId);
    return this.engine.complete(req.workerId, req.leases, this.isClosing() ? undefined : req.next);
  }

  fail(by: Principal, req: { workerId: string; leases: (LeaseRef & { error: JobError; retryable: boolean; requeueTo?: "parent" | undefined; logs?: string[] | undefined })[]; next?: ClaimNext | undefined }) {
    this.workers.assertOwnWorker(by, req.workerId);
    return this.engine.fail(req.workerId, req.leases, this.isClosing() ? undefined : req.next);
  }

  release(by: Principal, req: { workerId: string; leases: LeaseRef[] }) {
    this.workers.assertOwnWorker(by, req.workerId);
    return { released: this.engine.release(req.workerId, req.leases) };
  }
}
