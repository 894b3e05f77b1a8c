import type { Db } from "../db/open.ts";
import type { JobTypeRegistry } from "../job-types.ts";
import { Wakeups } from "./wakeup.ts";

export interface EngineSettings {
  defaultLeaseSeconds: number;
  defaultMaxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/** A queue's caps on leased jobs; null = no cap. */
export interface QueueLimits {
  concurrency: number | null;
  groupConcurrency: number | null;
}

/**
 * In-memory facts beside the database, rebuilt from it at start, so the hot path does
 * not query for them: which queues hold which job types, which queues are paused.
 */
export class EngineState {
  readonly wakeups: Wakeups;
  /** type → queues that have (or had) queued jobs of that type. */
  private readonly typeQueues = new Map<string, Set<string>>();
  /** queue → paused until (Infinity = until resumed). */
  private readonly paused = new Map<string, number>();
  /** queue → its caps, only for queues that have one. */
  private readonly limits = new Map<string, QueueLimits>();

  constructor(
    readonly db: Db,
    readonly types: JobTypeRegistry,
    readonly settings: EngineSettings,
    recheckMs = 1000,
  ) {
    this.wakeups = new Wakeups(recheckMs);
    // Leased jobs too: the reaper, a release or a retryable fail puts them back in the queue
    // later, and a claim only looks at pairs noted here.
    const pairs = db.$client.prepare("SELECT DISTINCT type, queue FROM jobs WHERE status IN ('queued', 'leased')").all() as { type: string; queue: string }[];
    for (const { type, queue } of pairs) this.noteQueue(type, queue);
    const pausedRows = db.$client.prepare("SELECT name, paused_until FROM queues WHERE paused = 1").all() as { name: string; paused_until: number | null }[];
    for (const row of pausedRows) this.paused.set(row.name, row.paused_until ?? Infinity);
    const limitRows = db.$client
      .prepare("SELECT name, concurrency, group_concurrency AS groupConcurrency FROM queues WHERE concurrency IS NOT NULL OR group_concurrency IS NOT NULL")
      .all() as ({ name: string } & QueueLimits)[];
    for (const { name, ...limits } of limitRows) this.setLimits(name, limits);
  }

  noteQueue(type: string, queue: string): void {
    let set = this.typeQueues.get(type);
    if (!set) this.typeQueues.set(type, (set = new Set()));
    set.add(queue);
  }

  /** (type, queue) pairs a claim for `types` should look at: known and not paused now. */
  claimablePairs(types: readonly string[], now: number, onlyQueues?: readonly string[]): [string, string][] {
    const out: [string, string][] = [];
    for (const type of types) {
      const queues = this.typeQueues.get(type);
      if (!queues) continue;
      for (const queue of queues) if (!this.isPaused(queue, now) && (onlyQueues === undefined || onlyQueues.includes(queue))) out.push([type, queue]);
    }
    return out;
  }

  knownQueues(): Set<string> {
    const all = new Set<string>([...this.paused.keys(), ...this.limits.keys()]);
    for (const queues of this.typeQueues.values()) for (const q of queues) all.add(q);
    return all;
  }

  isPaused(queue: string, now = Date.now()): boolean {
    const until = this.paused.get(queue);
    if (until === undefined) return false;
    if (until > now) return true;
    this.paused.delete(queue); // a timed pause ran out
    return false;
  }

  pausedUntil(queue: string): number | undefined {
    return this.isPaused(queue) ? this.paused.get(queue) : undefined;
  }

  setPaused(queue: string, until: number | undefined): void {
    if (until === undefined) this.paused.delete(queue);
    else this.paused.set(queue, until);
  }

  /** The queue's caps, or undefined when it has none (the claim's fast path). */
  limitsOf(queue: string): QueueLimits | undefined {
    return this.limits.get(queue);
  }

  setLimits(queue: string, limits: QueueLimits): void {
    if (limits.concurrency === null && limits.groupConcurrency === null) this.limits.delete(queue);
    else this.limits.set(queue, limits);
  }

  /** A limited queue's lease ended: a waiter may now claim in the slot it left. */
  slotsFreed(queue: string, type: string, count = 1): void {
    if (this.limits.has(queue)) this.wakeups.notify(type, count);
  }

  /** Types whose jobs sit in `queue` (to wake the right waiters on resume). */
  typesOfQueue(queue: string): string[] {
    return [...this.typeQueues].filter(([, qs]) => qs.has(queue)).map(([t]) => t);
  }
}
