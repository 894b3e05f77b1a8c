import { DroverError, JOB_STATUSES, type JobStatus, type Principal, type QueueInfo, type QueueStats, type QueuesService } from "@drover/protocol";
import { queues } from "../db/schema.ts";
import { EventLog } from "../engine/events.ts";
import type { EngineState } from "../engine/state.ts";
import { StatsBook } from "../engine/stats.ts";
import { ownerScope } from "./ownership.ts";

function emptyCounts(): Record<JobStatus, number> {
  return Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
}

export class QueuesServiceImpl implements QueuesService {
  private readonly events: EventLog;
  private readonly statsBook: StatsBook;
  constructor(private readonly state: EngineState) {
    this.events = new EventLog(state.db.$client);
    this.statsBook = new StatsBook(state.db.$client);
  }

  private countsOf(queue: string, user?: string): Record<JobStatus, number> {
    const counts = emptyCounts();
    const c = this.state.db.$client;
    const rows = (
      user === undefined
        ? c.prepare("SELECT status, count(*) AS n FROM jobs WHERE queue = ? GROUP BY status").all(queue)
        : c.prepare("SELECT status, count(*) AS n FROM jobs WHERE queue = ? AND created_by = ? GROUP BY status").all(queue, user)
    ) as { status: JobStatus; n: number }[];
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  private infoOf(queue: string, counts = this.countsOf(queue)): QueueInfo {
    const until = this.state.pausedUntil(queue);
    const limits = this.state.limitsOf(queue);
    return {
      name: queue,
      paused: until !== undefined,
      pausedUntil: until === undefined || until === Infinity ? null : until,
      concurrency: limits?.concurrency ?? null,
      groupConcurrency: limits?.groupConcurrency ?? null,
      counts,
    };
  }

  list(_by: Principal): QueueInfo[] {
    const byQueue = new Map<string, Record<JobStatus, number>>();
    for (const name of this.state.knownQueues()) byQueue.set(name, emptyCounts());
    const rows = this.state.db.$client.prepare("SELECT queue, status, count(*) AS n FROM jobs GROUP BY queue, status").all() as { queue: string; status: JobStatus; n: number }[];
    for (const r of rows) {
      let c = byQueue.get(r.queue);
      if (!c) byQueue.set(r.queue, (c = emptyCounts()));
      c[r.status] = r.n;
    }
    return [...byQueue].sort(([a], [b]) => a.localeCompare(b)).map(([name, counts]) => this.infoOf(name, counts));
  }

  /** A paused queue hands out nothing; running jobs go on. `seconds` makes the pause end by itself. */
  pause(_by: Principal, queue: string, seconds?: number): QueueInfo {
    const now = Date.now();
    const until = seconds === undefined ? null : now + seconds * 1000;
    this.state.db
      .insert(queues)
      .values({ name: queue, paused: true, pausedUntil: until, updatedAt: now })
      .onConflictDoUpdate({ target: queues.name, set: { paused: true, pausedUntil: until, updatedAt: now } })
      .run();
    this.state.setPaused(queue, until ?? Infinity);
    if (until !== null) this.state.wakeups.notifyAt(until);
    return this.infoOf(queue);
  }

  resume(_by: Principal, queue: string): QueueInfo {
    const now = Date.now();
    this.state.db
      .insert(queues)
      .values({ name: queue, paused: false, pausedUntil: null, updatedAt: now })
      .onConflictDoUpdate({ target: queues.name, set: { paused: false, pausedUntil: null, updatedAt: now } })
      .run();
    this.state.setPaused(queue, undefined);
    for (const type of this.state.typesOfQueue(queue)) this.state.wakeups.notify(type);
    return this.infoOf(queue);
  }

  /**
   * Caps leased jobs per queue and per group. Undefined leaves a cap as it is, null removes
   * it. Jobs leased already run on; the caps apply from the next claim.
   */
  setConcurrency(_by: Principal, queue: string, limits: { concurrency?: number | null | undefined; groupConcurrency?: number | null | undefined }): QueueInfo {
    const current = this.state.limitsOf(queue);
    const next = {
      concurrency: limits.concurrency === undefined ? (current?.concurrency ?? null) : limits.concurrency,
      groupConcurrency: limits.groupConcurrency === undefined ? (current?.groupConcurrency ?? null) : limits.groupConcurrency,
    };
    const now = Date.now();
    this.state.db
      .insert(queues)
      .values({ name: queue, ...next, updatedAt: now })
      .onConflictDoUpdate({ target: queues.name, set: { ...next, updatedAt: now } })
      .run();
    this.state.setLimits(queue, next);
    // A raised cap may let waiting workers claim now.
    for (const type of this.state.typesOfQueue(queue)) this.state.wakeups.notify(type);
    return this.infoOf(queue);
  }

  /** Cancels the queue's queued jobs (leased ones run on), each with an event; a submitter's only their own. */
  clear(by: Principal, queue: string): { cancelled: number } {
    const c = this.state.db.$client;
    const owner = ownerScope(by);
    const cancelled = c
      .transaction(() => {
        const now = Date.now();
        const ids = (
          owner === undefined
            ? c.prepare("UPDATE jobs SET status = 'cancelled', finished_at = ?, updated_at = ? WHERE queue = ? AND status = 'queued' RETURNING id, attempts").all(now, now, queue)
            : c
                .prepare("UPDATE jobs SET status = 'cancelled', finished_at = ?, updated_at = ? WHERE queue = ? AND status = 'queued' AND created_by = ? RETURNING id, attempts")
                .all(now, now, queue, owner)
        ) as { id: number; attempts: number }[];
        for (const row of ids) this.events.append(row.id, now, "cancelled", row.attempts, null, { by: by.user, reason: "queue cleared" });
        return ids.length;
      })
      .immediate();
    return { cancelled };
  }

  /**
   * Counts per status now, and what settled jobs reported over the last 1, 10 and 60
   * minutes. A submitter gets their own jobs' figures whatever `user` says.
   */
  stats(by: Principal, queue: string, user?: string): QueueStats {
    const owner = ownerScope(by) ?? user;
    const counts = this.countsOf(queue, owner);
    if (Object.values(counts).every((n) => n === 0) && !this.state.knownQueues().has(queue)) {
      throw new DroverError("NOT_FOUND", `queue '${queue}' has no jobs and no settings`, { details: { field: "queue" } });
    }
    const now = Date.now();
    return {
      ...this.infoOf(queue, counts),
      user: owner ?? null,
      windows: { m1: this.statsBook.window(queue, 1, now, owner), m10: this.statsBook.window(queue, 10, now, owner), m60: this.statsBook.window(queue, 60, now, owner) },
    };
  }
}
