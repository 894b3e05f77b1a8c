// dataset.workflow's spec: name, schemas, defaults. No runtime dependencies: the coordinator
// imports it to check payloads when `datasets.run` queues a run.
import { z } from "zod";
import type { JobTypeSpec } from "../define.ts";

export const DatasetWorkflowPayload = z.strictObject({
  /** The dataset's slug; its project's workflow and storage prefix are read when the run starts. */
  dataset: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[a-z0-9][a-z0-9_-]*$/, "must be a dataset slug"),
  /** Cores the workflow may use; default the worker's core count. */
  cores: z.number().int().min(1).max(1024).optional(),
});
export type DatasetWorkflowPayload = z.infer<typeof DatasetWorkflowPayload>;

export const DatasetWorkflowResult = z.object({
  dataset: z.string(),
  runId: z.number(),
  /** Files fetched in the setup stage, and their bytes. */
  downloaded: z.number(),
  downloadedBytes: z.number(),
  /** New or changed files pushed back, their bytes, and files the workflow deleted. */
  uploaded: z.number(),
  uploadedBytes: z.number(),
  deleted: z.number(),
  /** The manifest after the upload. */
  files: z.number(),
  bytes: z.number(),
  exitCode: z.number(),
  durationsMs: z.object({ setup: z.number(), workflow: z.number(), upload: z.number() }),
});
export type DatasetWorkflowResult = z.infer<typeof DatasetWorkflowResult>;

export const datasetWorkflowSpec = {
  name: "dataset.workflow",
  description: "Runs a project's workflow (bash or Snakemake) over one dataset: fetch, run, push back what changed",
  payload: DatasetWorkflowPayload,
  result: DatasetWorkflowResult,
  // Workflows run long; the worker heartbeats every third of the lease, so a dead worker's
  // dataset is back in the queue within five minutes.
  defaults: { leaseSeconds: 300, maxAttempts: 3 },
} satisfies JobTypeSpec<typeof DatasetWorkflowPayload, typeof DatasetWorkflowResult>;
