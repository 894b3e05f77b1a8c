import type Database from "better-sqlite3";
import type { JobRow } from "../db/rows.ts";
import type { QueueLimits } from "./state.ts";

export type ClaimRow = Pick<JobRow, "id" | "type" | "queue" | "payload" | "leaseSeconds" | "maxAttempts" | "priority" | "runAfter">;

/**
 * How many queued jobs one claim walks, in claim order, looking for groups below their cap.
 * Past it the claim takes what it found: a long run of jobs from saturated groups at the
 * head of a queue delays other groups' jobs behind it until slots free, but a claim's cost
 * stays bounded.
 */
export const GROUP_SCAN_LIMIT = 10_000;

interface QueueBudget {
  /** Slots left under the queue's cap (Infinity without one). */
  free: number;
  /** Leased jobs per group right now, plus those this claim has taken. */
  groups: Map<string, number>;
}

/**
 * Claims for queues with caps. Leased counts come from the leased-jobs index once per
 * queue per claim (the index holds only leased rows, so this costs the queue's in-flight
 * count, not its history); everything runs inside the claim's one transaction, so no other
 * claim can take the same slot.
 */
export class LimitedClaims {
  private readonly leasedByGroup: Database.Statement;
  private readonly scan: Database.Statement;
  private readonly top: Database.Statement;

  constructor(client: Database.Database) {
    this.leasedByGroup = client.prepare(
      `SELECT group_key AS groupKey, count(*) AS n FROM jobs INDEXED BY jobs_leased_group_idx WHERE status = 'leased' AND queue = ? GROUP BY group_key`,
    );
    const columns = `id, type, queue, payload, lease_seconds AS leaseSeconds, max_attempts AS maxAttempts, priority, run_after AS runAfter`;
    const from = `FROM jobs INDEXED BY jobs_claim_idx WHERE status = 'queued' AND type = ? AND queue = ? AND run_after <= ? ORDER BY priority DESC, run_after, id LIMIT ?`;
    this.scan = client.prepare(`SELECT ${columns}, group_key AS groupKey ${from}`);
    this.top = client.prepare(`SELECT ${columns} ${from}`);
  }

  /** A fresh view of the caps for one claim; its (type, queue) pairs share it. */
  budget(): ClaimBudget {
    return new ClaimBudget(this);
  }

  /** Leased jobs of a queue: in total and per group (ungrouped jobs count only in the total). */
  leased(queue: string): { total: number; groups: Map<string, number> } {
    const groups = new Map<string, number>();
    let total = 0;
    for (const row of this.leasedByGroup.all(queue) as { groupKey: string | null; n: number }[]) {
      total += row.n;
      if (row.groupKey !== null) groups.set(row.groupKey, row.n);
    }
    return { total, groups };
  }

  /** True when the queue's cap leaves room (the per-group caps are left to the claim). */
  hasRoom(queue: string, limits: QueueLimits): boolean {
    return limits.concurrency === null || this.leased(queue).total < limits.concurrency;
  }

  topCandidates(type: string, queue: string, now: number, max: number): ClaimRow[] {
    return this.top.all(type, queue, now, max) as ClaimRow[];
  }

  scanCandidates(type: string, queue: string, now: number): IterableIterator<ClaimRow & { groupKey: string | null }> {
    return this.scan.iterate(type, queue, now, GROUP_SCAN_LIMIT) as IterableIterator<ClaimRow & { groupKey: string | null }>;
  }
}

export class ClaimBudget {
  private readonly queues = new Map<string, QueueBudget>();

  constructor(private readonly claims: LimitedClaims) {}

  private of(queue: string, limits: QueueLimits): QueueBudget {
    let budget = this.queues.get(queue);
    if (!budget) {
      const { total, groups } = this.claims.leased(queue);
      budget = { free: limits.concurrency === null ? Infinity : Math.max(0, limits.concurrency - total), groups };
      this.queues.set(queue, budget);
    }
    return budget;
  }

  /** Up to `max` claimable jobs of (type, queue) within the queue's caps, in claim order. */
  pick(type: string, queue: string, now: number, max: number, limits: QueueLimits): ClaimRow[] {
    const budget = this.of(queue, limits);
    const want = Math.min(max, budget.free);
    if (want <= 0) return [];
    const cap = limits.groupConcurrency;
    let rows: ClaimRow[];
    if (cap === null) rows = this.claims.topCandidates(type, queue, now, want);
    else {
      rows = [];
      for (const { groupKey, ...row } of this.claims.scanCandidates(type, queue, now)) {
        if (groupKey !== null) {
          const leased = budget.groups.get(groupKey) ?? 0;
          if (leased >= cap) continue;
          budget.groups.set(groupKey, leased + 1);
        }
        rows.push(row);
        if (rows.length >= want) break;
      }
    }
    budget.free -= rows.length;
    return rows;
  }
}
