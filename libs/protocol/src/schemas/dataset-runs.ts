import { z } from "zod";
import { EpochMs, JobId } from "./common.ts";
import { Dataset, DatasetFile, Project, Slug } from "./datasets.ts";
import { LeaseRef } from "./leases.ts";

/** The job type that runs a project's workflow over one dataset. */
export const DATASET_WORKFLOW_TYPE = "dataset.workflow";

/** The queue of a project's dataset runs: `drover worker --project P` leases from it alone. */
export function projectQueue(project: string): string {
  return `${DATASET_WORKFLOW_TYPE}:${project}`;
}

export const RunStage = z.enum(["setup", "workflow", "upload"]);
export type RunStage = z.infer<typeof RunStage>;
export const StageState = z.enum(["start", "success", "fail"]);
export type StageState = z.infer<typeof StageState>;
/**
 * A run's state: `running` while its lease holds; `abandoned` when its lease ended without
 * an outcome (the worker died or lost the lease; the job went back to the queue).
 */
export const RunState = z.enum(["running", "succeeded", "failed", "abandoned"]);
export type RunState = z.infer<typeof RunState>;

/** What the worker that ran a dataset looked like: for "it worked on my machine". */
export const Diagnostics = z.strictObject({
  host: z.string().max(255),
  os: z.string().max(255),
  arch: z.string().max(50),
  cores: z.number().int().min(0),
  memoryBytes: z.number().int().min(0),
  freeMemoryBytes: z.number().int().min(0),
  /** Free bytes on the work dir's file system, when the OS tells. */
  diskFreeBytes: z.number().int().min(0).optional(),
  /** Tool versions: node, bash, snakemake, drover … */
  versions: z.record(z.string().max(50), z.string().max(500)).refine((v) => Object.keys(v).length <= 20, { message: "at most 20 versions" }),
});
export type Diagnostics = z.infer<typeof Diagnostics>;

export const DatasetRunInput = z.strictObject({
  /** Every unprocessed dataset of this project; omit for all projects the caller may change. */
  project: Slug.optional(),
  /** Only these datasets. */
  datasets: z.array(Slug).min(1).max(10_000).optional(),
  /** Queue failed datasets again too (a new run). */
  retryFailed: z.boolean().default(false),
  /** Also re-run completed datasets. */
  rerunCompleted: z.boolean().default(false),
  /** Cores the workflow may use (`snakemake --cores N`, `$DROVER_CORES`); default the worker's core count. */
  cores: z.number().int().min(1).max(1024).optional(),
  priority: z.number().int().min(-1000).max(1000).default(0),
  maxAttempts: z.number().int().min(1).max(100).optional(),
  leaseSeconds: z.number().int().min(10).max(86_400).optional(),
});

export const DatasetRunOutput = z.object({
  queued: z.array(z.object({ dataset: z.string(), jobId: JobId })),
  /** Datasets left alone and why (running already, completed, failed without retryFailed). */
  skipped: z.array(z.object({ dataset: z.string(), status: z.string() })),
});
export type DatasetRunOutput = z.infer<typeof DatasetRunOutput>;

export const StageRecord = z.object({ stage: RunStage, state: StageState, at: EpochMs, note: z.string().nullable() });
export type StageRecord = z.infer<typeof StageRecord>;

export const DatasetRun = z.object({
  id: z.number(),
  dataset: z.string(),
  jobId: JobId,
  attempt: z.number(),
  workerId: z.string(),
  state: RunState,
  startedAt: EpochMs,
  endedAt: EpochMs.nullable(),
  stages: z.array(StageRecord),
  /** The failure's stderr tail, or why the run was abandoned. */
  note: z.string().nullable(),
  diagnostics: Diagnostics.nullable(),
  /** Files the run uploaded (new or changed by sha256), and files its workflow deleted. */
  uploaded: z.array(z.string()),
  deleted: z.array(z.string()),
});
export type DatasetRun = z.infer<typeof DatasetRun>;

export const DatasetRunsInput = z.strictObject({
  dataset: Slug,
  limit: z.number().int().min(1).max(1000).default(50),
});

// ---- what a dataset.workflow job calls, fenced by its lease

export const WorkflowStartInput = z.strictObject({ lease: LeaseRef, diagnostics: Diagnostics });
export const WorkflowStartOutput = z.object({ runId: z.number(), dataset: Dataset, project: Project });
export type WorkflowStartOutput = z.infer<typeof WorkflowStartOutput>;

export const WorkflowStageInput = z.strictObject({
  lease: LeaseRef,
  stage: RunStage,
  state: StageState,
  /** For a fail: the stderr tail or the error. */
  note: z.string().max(20_000).optional(),
});

export const WorkflowFilesInput = z.strictObject({
  lease: LeaseRef,
  limit: z.number().int().min(1).max(100_000).default(10_000),
  cursor: z.string().max(4096).optional(),
});
export const WorkflowFilesOutput = z.object({ files: z.array(DatasetFile), nextCursor: z.string().nullable() });

const RelPath = z.string().min(1).max(4096);
export const WorkflowFinishInput = z.strictObject({
  lease: LeaseRef,
  uploaded: z.array(RelPath).max(1_000_000),
  deleted: z.array(RelPath).max(1_000_000),
});
export const WorkflowFinishOutput = z.object({ files: z.number(), bytes: z.number(), added: z.number(), changed: z.number() });
export type WorkflowFinishOutput = z.infer<typeof WorkflowFinishOutput>;
