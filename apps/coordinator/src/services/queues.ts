import { DroverError, JOB_STATUSES, type JobStatus, type Principal, type QueueInfo, type QueueStats, type QueuesService } from "@drover/protocol";
import { queues } from "../db/schema.ts";
import { EventLog } from "../engine/events.ts";
import type { EngineState } from "../engine/state.ts";

function emptyCounts(): Record<JobStatus, number> {
  return Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
}

export class QueuesServiceImpl implements QueuesService {
  private readonly events: EventLog;
  constructor(private readonly state: EngineState) {
    this.events = new EventLog(state.db.$client);
  }

  private countsOf(queue: string): Record<JobStatus, number> {
    const counts = emptyCounts();
    const rows = this.state.db.$client.prepare("SELECT status, count(*) AS n FROM jobs WHERE queue = ? GROUP BY status").all(queue) as { status: JobStatus; n: number }[];
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  private infoOf(queue: string, counts = this.countsOf(queue)): QueueInfo {
    const until = this.state.pausedUntil(queue);
    return { name: queue, paused: until !== undefined, pausedUntil: until === undefined || until === Infinity ? null : until, counts };
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

  /** Cancels the queue's queued jobs (leased ones run on), each with an event. */
  clear(by: Principal, queue: string): { cancelled: number } {
    const c = this.state.db.$client;
    const cancelled = c
      .transaction(() => {
        const now = Date.now();
        const ids = c.prepare("UPDATE jobs SET status = 'cancelled', finished_at = ?, updated_at = ? WHERE queue = ? AND status = 'queued' RETURNING id, attempts").all(now, now, queue) as { id: number; attempts: number }[];
        for (const row of ids) this.events.append(row.id, now, "cancelled", row.attempts, null, { by: by.user, reason: "queue cleared" });
        return ids.length;
      })
      .immediate();
    return { cancelled };
  }

  stats(_by: Principal, queue: string): QueueStats {
    const counts = this.countsOf(queue);
    if (Object.values(counts).every((n) => n === 0) && !this.state.knownQueues().has(queue)) {
      throw new DroverError("NOT_FOUND", `queue '${queue}' has no jobs and no settings`, { details: { field: "queue" } });
    }
    const now = Date.now();
    const since = (minutes: number, status: JobStatus) =>
      (this.state.db.$client.prepare("SELECT count(*) AS n FROM jobs WHERE queue = ? AND status = ? AND finished_at >= ?").get(queue, status, now - minutes * 60_000) as { n: number }).n;
    return {
      ...this.infoOf(queue, counts),
      throughputPerMinute: { m1: since(1, "succeeded"), m5: since(5, "succeeded") / 5, m15: since(15, "succeeded") / 15 },
      failedLast15m: since(15, "failed"),
    };
  }
}
