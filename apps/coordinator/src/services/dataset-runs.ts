import {
  DATASET_WORKFLOW_TYPE,
  DroverError,
  projectQueue,
  type DatasetRun,
  type DatasetRunOutput,
  type DatasetsService,
  type JobSubmitParsed,
  type LeaseRef,
  type Principal,
  type RunStage,
  type StageState,
  type WorkflowFinishOutput,
} from "@drover/protocol";
import { JobInserter } from "../engine/insert-jobs.ts";
import type { EngineState } from "../engine/state.ts";
import { readManifest, scanManifest, writeManifest } from "./manifest.ts";

type Input<K extends keyof DatasetsService> = Parameters<DatasetsService[K]>[1];

/** A dataset as the run logic needs it, with its status already derived. */
export interface RunnableDataset {
  id: number;
  slug: string;
  projectSlug: string;
  storagePrefix: string;
  owner: string;
  manifestAt: number | null;
  status: "unprocessed" | "running" | "completed" | "failed";
  /** The job of its latest run, queued by someone allowed to (datasets.run). */
  jobId: number | null;
}

/** What the runs need from the datasets service: lookups with its visibility rules. */
export interface DatasetLookups {
  /** Datasets the caller may change: one project's, the named ones, or all. */
  changeable(by: Principal, project: string | undefined, slugs: string[] | undefined): RunnableDataset[];
  /** By slug, ignoring visibility: the caller holds a lease on a job that names it. */
  bySlug(slug: string): RunnableDataset | undefined;
  /** The dataset's id, if the caller may see it (NOT_FOUND otherwise). */
  visibleId(by: Principal, slug: string): number;
}

interface LeasedJob {
  id: number;
  status: string;
  attempts: number;
  leaseId: string | null;
  type: string;
  payload: string;
  workerId: string | null;
  createdBy: string | null;
}

interface RunRow {
  id: number;
  jobId: number;
  attempt: number;
  workerId: string;
  state: "running" | "succeeded" | "failed";
  startedAt: number;
  endedAt: number | null;
  note: string | null;
  diagnostics: string | null;
  uploaded: string;
  deleted: string;
  jobStatus: string | null;
  jobAttempts: number | null;
}

const ABANDONED_NOTE = "the lease ended without an outcome (the worker stopped, was killed or lost its lease); the job went back to the queue";

/**
 * Dataset runs on leases: `queueRuns` gives each dataset at most one live job, and the
 * running job's calls are fenced by its lease (job id + attempt + lease id), so a worker
 * that lost its lease can record nothing. A run whose lease ended without an outcome is
 * shown as abandoned; its dataset stays running while the job is queued again.
 */
export class DatasetRuns {
  private readonly inserter: JobInserter;
  private readonly stmts;

  constructor(
    private readonly state: EngineState,
    private readonly lookups: DatasetLookups,
  ) {
    this.inserter = new JobInserter(state);
    const c = state.db.$client;
    this.stmts = {
      job: c.prepare(`SELECT id, status, attempts, lease_id AS leaseId, type, payload, worker_id AS workerId, created_by AS createdBy FROM jobs WHERE id = ?`),
      setJob: c.prepare(`UPDATE datasets SET job_id = ?, updated_at = ? WHERE id = ?`),
      runOf: c.prepare(`SELECT id, state FROM dataset_runs WHERE job_id = ? AND attempt = ?`),
      insertRun: c.prepare(
        `INSERT INTO dataset_runs (dataset_id, job_id, attempt, worker_id, state, started_at, diagnostics) VALUES (?, ?, ?, ?, 'running', ?, ?) RETURNING id`,
      ),
      // Another job of this dataset whose run is live: its current attempt holds a lease.
      otherLive: c.prepare(
        `SELECT r.job_id AS jobId FROM dataset_runs r JOIN jobs j ON j.id = r.job_id
         WHERE r.dataset_id = ? AND r.state = 'running' AND r.job_id != ? AND j.status = 'leased' AND j.attempts = r.attempt LIMIT 1`,
      ),
      insertStage: c.prepare(`INSERT INTO dataset_run_stages (run_id, stage, state, at, note) VALUES (?, ?, ?, ?, ?)`),
      failRun: c.prepare(`UPDATE dataset_runs SET state = 'failed', ended_at = ?, note = ? WHERE id = ? AND state = 'running'`),
      succeedRun: c.prepare(`UPDATE dataset_runs SET state = 'succeeded', ended_at = ?, uploaded = ?, deleted = ? WHERE id = ?`),
      runs: c.prepare(
        `SELECT r.id, r.job_id AS jobId, r.attempt, r.worker_id AS workerId, r.state, r.started_at AS startedAt, r.ended_at AS endedAt, r.note,
           r.diagnostics, r.uploaded, r.deleted, j.status AS jobStatus, j.attempts AS jobAttempts
         FROM dataset_runs r LEFT JOIN jobs j ON j.id = r.job_id WHERE r.dataset_id = ? ORDER BY r.id DESC LIMIT ?`,
      ),
      stagesOfRun: c.prepare(`SELECT run_id AS runId, stage, state, at, note FROM dataset_run_stages WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY id`),
    };
  }

  // ---- queueing

  queue(by: Principal, req: Input<"queueRuns">): DatasetRunOutput {
    const db = this.state.db.$client;
    // Checked and prepared before the transaction; statuses are read again inside it.
    const candidates = this.lookups.changeable(by, req.project, req.datasets);
    const jobOf = (d: RunnableDataset): JobSubmitParsed => ({
      type: DATASET_WORKFLOW_TYPE,
      queue: projectQueue(d.projectSlug),
      payload: req.cores === undefined ? { dataset: d.slug } : { dataset: d.slug, cores: req.cores },
      priority: req.priority,
      ...(req.maxAttempts !== undefined ? { maxAttempts: req.maxAttempts } : {}),
      ...(req.leaseSeconds !== undefined ? { leaseSeconds: req.leaseSeconds } : {}),
    });
    const prepared = this.inserter.prepare(candidates.map(jobOf), () => "");
    const now = Date.now();
    const out = db
      .transaction(() => {
        const queued: DatasetRunOutput["queued"] = [];
        const skipped: DatasetRunOutput["skipped"] = [];
        const inserted: typeof prepared = [];
        candidates.forEach((candidate, i) => {
          const status = this.lookups.bySlug(candidate.slug)?.status ?? "unprocessed";
          const wanted = status === "unprocessed" || (status === "failed" && req.retryFailed) || (status === "completed" && req.rerunCompleted);
          if (!wanted) {
            skipped.push({ dataset: candidate.slug, status });
            return;
          }
          const [result] = this.inserter.insertIn([prepared[i]!], by.user, null, now);
          this.stmts.setJob.run(result!.id, now, candidate.id);
          queued.push({ dataset: candidate.slug, jobId: result!.id });
          inserted.push(prepared[i]!);
        });
        return { queued, skipped, inserted };
      })
      .immediate();
    this.inserter.announce(out.inserted, out.queued.map((q) => ({ id: q.jobId, deduplicated: false })), now);
    return { queued: out.queued, skipped: out.skipped };
  }

  // ---- the running job's calls

  /** The job behind a lease, if the lease is current; the dataset its payload names. */
  private leased(ref: LeaseRef): { job: LeasedJob; dataset: RunnableDataset } {
    const job = this.stmts.job.get(ref.jobId) as LeasedJob | undefined;
    if (!job || job.status !== "leased" || job.attempts !== ref.attempt || job.leaseId !== ref.leaseId) {
      throw new DroverError("LEASE_CONFLICT", `job ${ref.jobId} attempt ${ref.attempt}: the lease is not current`, { details: { field: "lease" } });
    }
    if (job.type !== DATASET_WORKFLOW_TYPE) {
      throw new DroverError("INVALID_INPUT", `job ${ref.jobId} is a '${job.type}' job, not '${DATASET_WORKFLOW_TYPE}'`, { details: { field: "lease.jobId" } });
    }
    const slug = (JSON.parse(job.payload) as { dataset?: unknown }).dataset;
    const dataset = typeof slug === "string" ? this.lookups.bySlug(slug) : undefined;
    if (!dataset) throw new DroverError("NOT_FOUND", `dataset ${JSON.stringify(slug)} of job ${job.id} does not exist`, { details: { field: "payload.dataset" } });
    // Anyone may submit a dataset.workflow job naming any dataset; only a run its owner
    // submitted, or one queued through datasets.run (which checks who may change it), may
    // read the dataset, run its project's workflow and write its manifest.
    if (job.createdBy !== dataset.owner && dataset.jobId !== job.id) {
      throw new DroverError("FORBIDDEN", `job ${job.id} was not queued by the owner of dataset '${dataset.slug}' (queue runs with datasets.run)`, {
        details: { field: "payload.dataset" },
      });
    }
    return { job, dataset };
  }

  private runId(ref: LeaseRef): number {
    const run = this.stmts.runOf.get(ref.jobId, ref.attempt) as { id: number } | undefined;
    if (!run) throw new DroverError("INVALID_STATE", `job ${ref.jobId} attempt ${ref.attempt} has not started its run (call workflow.start first)`, { details: { field: "lease" } });
    return run.id;
  }

  /** Opens (or, repeated, finds) this attempt's run; refreshes a never-computed manifest first. */
  async start(req: Input<"workflowStart">, signal?: AbortSignal): Promise<{ runId: number; dataset: RunnableDataset }> {
    const { dataset } = this.leased(req.lease);
    if (dataset.manifestAt === null) await this.refresh(dataset, signal);
    const db = this.state.db.$client;
    const now = Date.now();
    const runId = db
      .transaction(() => {
        const { job } = this.leased(req.lease);
        const existing = this.stmts.runOf.get(job.id, job.attempts) as { id: number } | undefined;
        if (existing) return existing.id;
        const other = this.stmts.otherLive.get(dataset.id, job.id) as { jobId: number } | undefined;
        if (other) {
          throw new DroverError("INVALID_STATE", `dataset '${dataset.slug}' is being processed by job ${other.jobId}; a dataset has one run at a time`, {
            details: { field: "payload.dataset" },
          });
        }
        // A job submitted directly (not through datasets.run) becomes the dataset's latest run too.
        this.stmts.setJob.run(job.id, now, dataset.id);
        const { id } = this.stmts.insertRun.get(dataset.id, job.id, job.attempts, job.workerId ?? "", now, JSON.stringify(req.diagnostics)) as { id: number };
        this.stmts.insertStage.run(id, "setup", "start", now, null);
        return id;
      })
      .immediate();
    return { runId, dataset };
  }

  stage(req: Input<"workflowStage">): { ok: true } {
    const db = this.state.db.$client;
    db.transaction(() => {
      this.leased(req.lease);
      const runId = this.runId(req.lease);
      this.record(runId, req.stage, req.state, req.note);
    }).immediate();
    return { ok: true };
  }

  private record(runId: number, stage: RunStage, state: StageState, note: string | undefined): void {
    const now = Date.now();
    this.stmts.insertStage.run(runId, stage, state, now, note ?? null);
    if (state === "fail") this.stmts.failRun.run(now, note ?? `${stage} failed`, runId);
  }

  /** The dataset the lease names: for the worker's manifest reads. */
  datasetOf(ref: LeaseRef): RunnableDataset {
    return this.leased(ref).dataset;
  }

  /** Records the upload and refreshes the manifest; the lease is checked before and after the listing. */
  async finish(req: Input<"workflowFinish">, signal?: AbortSignal): Promise<WorkflowFinishOutput> {
    const { dataset } = this.leased(req.lease);
    this.runId(req.lease);
    const diff = await scanManifest(dataset.storagePrefix, readManifest(this.state.db.$client, dataset.id), signal);
    const now = Date.now();
    this.state.db.$client
      .transaction(() => {
        this.leased(req.lease);
        const runId = this.runId(req.lease);
        writeManifest(this.state.db.$client, dataset.id, diff, now);
        this.stmts.insertStage.run(runId, "upload", "success", now, null);
        this.stmts.succeedRun.run(now, JSON.stringify(req.uploaded), JSON.stringify(req.deleted), runId);
      })
      .immediate();
    return { files: diff.files.length, bytes: diff.files.reduce((n, f) => n + f.size, 0), added: diff.added, changed: diff.changed };
  }

  private async refresh(dataset: RunnableDataset, signal?: AbortSignal): Promise<void> {
    const diff = await scanManifest(dataset.storagePrefix, readManifest(this.state.db.$client, dataset.id), signal);
    writeManifest(this.state.db.$client, dataset.id, diff, Date.now());
  }

  // ---- reading

  list(by: Principal, req: Input<"listRuns">): DatasetRun[] {
    const datasetId = this.lookups.visibleId(by, req.dataset);
    const rows = this.stmts.runs.all(datasetId, req.limit) as RunRow[];
    const stages = new Map<number, DatasetRun["stages"]>();
    for (const s of this.stmts.stagesOfRun.all(JSON.stringify(rows.map((r) => r.id))) as (DatasetRun["stages"][number] & { runId: number })[]) {
      const { runId, ...rest } = s;
      let list = stages.get(runId);
      if (!list) stages.set(runId, (list = []));
      list.push(rest);
    }
    return rows.map((r) => {
      const live = r.jobStatus === "leased" && r.jobAttempts === r.attempt;
      const abandoned = r.state === "running" && !live;
      return {
        id: r.id,
        dataset: req.dataset,
        jobId: r.jobId,
        attempt: r.attempt,
        workerId: r.workerId,
        state: abandoned ? "abandoned" : r.state,
        startedAt: r.startedAt,
        endedAt: r.endedAt,
        stages: stages.get(r.id) ?? [],
        note: abandoned ? ABANDONED_NOTE : r.note,
        diagnostics: r.diagnostics === null ? null : (JSON.parse(r.diagnostics) as DatasetRun["diagnostics"]),
        uploaded: JSON.parse(r.uploaded) as string[],
        deleted: JSON.parse(r.deleted) as string[],
      };
    });
  }
}
