// Crawling@Home sessions: an old client's token → the Drover worker it registered and the one
// lease it holds. Kept in memory only: after a coordinator restart every token is unknown (404)
// and the client registers again, as it did with the old server.
import type { LeaseRef } from "@drover/protocol";
import { randomBytes } from "node:crypto";
import type { CahWorkerType } from "./cah-input.ts";
import type { CahJobFacts } from "./cah-jobs.ts";

/** The lease a session holds: every report on it uses exactly this ref (fencing). */
export interface CahLease extends LeaseRef {
  leaseSeconds: number;
  /** The job's facts as handed to the client (ids and piece; the shard for crawl.wat). */
  job: CahJobFacts;
}

export interface CahSession {
  readonly token: string;
  readonly type: CahWorkerType;
  readonly nickname: string;
  readonly workerId: string;
  lastSeen: number;
  lease: CahLease | undefined;
  /** The job this session completed last, so a repeated markAsDone says so. */
  lastDone: number | undefined;
}

export class CahSessions {
  private readonly byToken = new Map<string, CahSession>();
  /** jobId → the session leasing it (the shard route serves only leased jobs). */
  private readonly byJob = new Map<number, CahSession>();

  constructor(
    /** How long a session without a job may stay unseen. */
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.byToken.size;
  }

  create(type: CahWorkerType, nickname: string, workerId: string): CahSession {
    const session: CahSession = { token: randomBytes(16).toString("hex"), type, nickname, workerId, lastSeen: this.now(), lease: undefined, lastDone: undefined };
    this.byToken.set(session.token, session);
    return session;
  }

  /**
   * The live session of `token` for worker type `type`, or undefined. A session unseen for
   * longer than its job's lease (or the idle time, without a job) is dropped here: its lease
   * expires through the reaper, and the client, told 404, registers again.
   */
  get(token: string, type?: CahWorkerType): CahSession | undefined {
    const session = this.byToken.get(token);
    if (session === undefined) return undefined;
    if (this.idle(session)) {
      this.drop(session);
      return undefined;
    }
    return type === undefined || session.type === type ? session : undefined;
  }

  /** The live session leasing `jobId`, if any. */
  holder(jobId: number): CahSession | undefined {
    const session = this.byJob.get(jobId);
    return session === undefined ? undefined : this.get(session.token);
  }

  touch(session: CahSession): void {
    session.lastSeen = this.now();
  }

  setLease(session: CahSession, lease: CahLease | undefined): void {
    if (session.lease !== undefined && this.byJob.get(session.lease.jobId) === session) this.byJob.delete(session.lease.jobId);
    session.lease = lease;
    if (lease !== undefined) this.byJob.set(lease.jobId, session);
  }

  drop(session: CahSession): void {
    this.setLease(session, undefined);
    this.byToken.delete(session.token);
  }

  /** Drops every idle session; returns how many. Run now and then so abandoned tokens do not pile up. */
  sweep(): number {
    let n = 0;
    for (const session of this.byToken.values()) {
      if (!this.idle(session)) continue;
      this.drop(session);
      n++;
    }
    return n;
  }

  private idle(session: CahSession): boolean {
    const timeout = session.lease !== undefined ? session.lease.leaseSeconds * 1000 : this.idleMs;
    return this.now() - session.lastSeen > timeout;
  }
}
