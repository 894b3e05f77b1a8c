import { DroverError, type CountersByType, type HostInfo, type LeaderboardRow, type Principal, type WorkerInfo, type WorkersService } from "@drover/protocol";
import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { workers } from "../db/schema.ts";
import type { LeaseEngine } from "../engine/lease-engine.ts";
import type { EngineState } from "../engine/state.ts";

/** How often (at most) a worker's last-seen time is written: a heartbeat is not a write each time. */
const LAST_SEEN_WRITE_MS = 1000;

export class WorkersServiceImpl implements WorkersService {
  /** workerId → owning token and when last-seen was last written. */
  private readonly known = new Map<string, { tokenId: string; lastWrite: number }>();
  private readonly touchStmt;
  private readonly leaderboardStmt;
  private readonly byTypeStmt;

  constructor(
    private readonly state: EngineState,
    private readonly engine: LeaseEngine,
    /** A worker unseen this long is shown as lost. */
    private readonly lostAfterMs: number,
  ) {
    this.touchStmt = state.db.$client.prepare("UPDATE workers SET last_seen_at = ?, gone_at = NULL WHERE id = ?");
    this.leaderboardStmt = state.db.$client.prepare(
      `SELECT worker_name AS workerName, name, sum(value) AS value FROM job_counters
       WHERE @type IS NULL OR type = @type GROUP BY worker_name, name`,
    );
    this.byTypeStmt = state.db.$client.prepare(`SELECT type, name, sum(value) AS value FROM job_counters GROUP BY type, name`);
  }

  register(by: Principal, req: { name: string; labels: Record<string, string>; types: string[]; concurrency: number; version: string; host: HostInfo; workerId?: string | undefined }) {
    const now = Date.now();
    const values = {
      name: req.name,
      labels: JSON.stringify(req.labels),
      types: JSON.stringify(req.types),
      concurrency: req.concurrency,
      version: req.version,
      host: JSON.stringify(req.host),
      tokenId: by.tokenId,
      lastSeenAt: now,
      goneAt: null,
    };
    if (req.workerId) {
      const existing = this.state.db.select({ tokenId: workers.tokenId }).from(workers).where(eq(workers.id, req.workerId)).get();
      if (existing && existing.tokenId !== by.tokenId && by.role !== "admin") {
        throw new DroverError("FORBIDDEN", `worker ${req.workerId} belongs to another token`, { details: { field: "workerId" } });
      }
    }
    const workerId = req.workerId ?? randomUUID();
    this.state.db
      .insert(workers)
      .values({ id: workerId, registeredAt: now, ...values })
      .onConflictDoUpdate({ target: workers.id, set: values })
      .run();
    this.known.set(workerId, { tokenId: by.tokenId, lastWrite: now });
    return { workerId };
  }

  /**
   * Checks that `workerId` is registered to the caller's token (admins may act for any
   * worker) and records that it was seen. Called by every lease procedure.
   */
  assertOwnWorker(by: Principal, workerId: string): void {
    let entry = this.known.get(workerId);
    if (!entry) {
      const row = this.state.db.select({ tokenId: workers.tokenId }).from(workers).where(eq(workers.id, workerId)).get();
      if (!row) throw new DroverError("NOT_FOUND", `worker ${workerId} is not registered; call workers.register first`, { details: { field: "workerId" } });
      entry = { tokenId: row.tokenId, lastWrite: 0 };
      this.known.set(workerId, entry);
    }
    if (entry.tokenId !== by.tokenId && by.role !== "admin") {
      throw new DroverError("FORBIDDEN", `worker ${workerId} belongs to another token`, { details: { field: "workerId" } });
    }
    const now = Date.now();
    if (now - entry.lastWrite >= LAST_SEEN_WRITE_MS) {
      entry.lastWrite = now;
      this.touchStmt.run(now, workerId);
    }
  }

  bye(by: Principal, workerId: string) {
    this.assertOwnWorker(by, workerId);
    const released = this.engine.releaseWorker(workerId);
    this.state.db.update(workers).set({ goneAt: Date.now() }).where(eq(workers.id, workerId)).run();
    return { released };
  }

  list(_by: Principal): WorkerInfo[] {
    const now = Date.now();
    const leased = new Map(
      (this.state.db.$client.prepare("SELECT worker_id AS id, count(*) AS n FROM jobs INDEXED BY jobs_worker_idx WHERE status = 'leased' GROUP BY worker_id").all() as { id: string; n: number }[]).map((r) => [r.id, r.n]),
    );
    return this.state.db
      .select()
      .from(workers)
      .orderBy(sql`${workers.lastSeenAt} DESC`)
      .limit(10_000)
      .all()
      .map((w) => ({
        id: w.id,
        name: w.name,
        labels: JSON.parse(w.labels) as Record<string, string>,
        types: JSON.parse(w.types) as string[],
        concurrency: w.concurrency,
        version: w.version,
        host: JSON.parse(w.host) as HostInfo,
        status: w.goneAt !== null ? "gone" : now - w.lastSeenAt > this.lostAfterMs ? "lost" : "active",
        registeredAt: w.registeredAt,
        lastSeenAt: w.lastSeenAt,
        activeLeases: leased.get(w.id) ?? 0,
      }));
  }

  /** Jobs and counts per worker name from job_counters, ranked by `q.by`. */
  leaderboard(_by: Principal, q: { type?: string | undefined; by: string; limit: number }): LeaderboardRow[] {
    const rows = this.leaderboardStmt.all({ type: q.type ?? null }) as { workerName: string; name: string; value: number }[];
    const byWorker = new Map<string, LeaderboardRow>();
    for (const r of rows) {
      let row = byWorker.get(r.workerName);
      if (row === undefined) byWorker.set(r.workerName, (row = { name: r.workerName, jobs: 0, counts: {} }));
      if (r.name === "jobs") row.jobs = r.value;
      else row.counts[r.name] = r.value;
    }
    const score = (row: LeaderboardRow): number => (q.by === "jobs" ? row.jobs : (row.counts[q.by] ?? 0));
    return [...byWorker.values()].sort((a, b) => score(b) - score(a) || a.name.localeCompare(b.name)).slice(0, q.limit);
  }

  /** Jobs and counts per job type. */
  countersByType(_by: Principal): CountersByType {
    const rows = this.byTypeStmt.all() as { type: string; name: string; value: number }[];
    const byType = new Map<string, CountersByType[number]>();
    for (const r of rows) {
      let row = byType.get(r.type);
      if (row === undefined) byType.set(r.type, (row = { type: r.type, jobs: 0, counts: {} }));
      if (r.name === "jobs") row.jobs = r.value;
      else row.counts[r.name] = r.value;
    }
    return [...byType.values()];
  }
}
