import { z } from "zod";
import { NoInput } from "../schemas/common.ts";
import {
  AttributeSetInput,
  Dataset,
  DatasetAddInput,
  DatasetFilesInput,
  DatasetFilesOutput,
  DatasetInput,
  DatasetListInput,
  Item,
  ItemAddInput,
  ItemListInput,
  ItemListOutput,
  ManifestRefreshOutput,
  Project,
  ProjectAddInput,
  ProjectInput,
} from "../schemas/datasets.ts";
import {
  DatasetRun,
  DatasetRunInput,
  DatasetRunOutput,
  DatasetRunsInput,
  WorkflowFilesInput,
  WorkflowFilesOutput,
  WorkflowFinishInput,
  WorkflowFinishOutput,
  WorkflowStageInput,
  WorkflowStartInput,
  WorkflowStartOutput,
} from "../schemas/dataset-runs.ts";
import { procedureFor, router } from "../trpc.ts";

const read = procedureFor("read");
const submit = procedureFor("submit");
const lease = procedureFor("lease");

// Private projects and datasets are their owner's (and an admin's or a reader's); to any
// other submitter they do not exist. Public ones every token may read; only the owner or an
// admin changes them.
export const projectsRouter = router({
  add: submit.input(ProjectAddInput).output(Project).mutation(({ ctx, input }) => ctx.services.datasets.addProject(ctx.principal, input)),
  list: read.input(NoInput).output(z.array(Project)).query(({ ctx }) => ctx.services.datasets.listProjects(ctx.principal)),
  get: read.input(ProjectInput).output(Project).query(({ ctx, input }) => ctx.services.datasets.getProject(ctx.principal, input.project)),
});

export const datasetsRouter = router({
  add: submit.input(DatasetAddInput).output(Dataset).mutation(({ ctx, input }) => ctx.services.datasets.addDataset(ctx.principal, input)),
  list: read.input(DatasetListInput).output(z.array(Dataset)).query(({ ctx, input }) => ctx.services.datasets.listDatasets(ctx.principal, input)),
  get: read.input(DatasetInput).output(Dataset).query(({ ctx, input }) => ctx.services.datasets.getDataset(ctx.principal, input.dataset)),
  /** The manifest, by path, paged. */
  files: read.input(DatasetFilesInput).output(DatasetFilesOutput).query(({ ctx, input }) => ctx.services.datasets.files(ctx.principal, input)),
  /**
   * Recomputes the manifest from the storage: one listing; sha256 from the backend when it
   * stores one, kept when size and time are unchanged, else hashed from the bytes.
   */
  refreshManifest: submit
    .input(DatasetInput)
    .output(ManifestRefreshOutput)
    .mutation(({ ctx, input, signal }) => ctx.services.datasets.refreshManifest(ctx.principal, input.dataset, signal)),
  /**
   * Queues a `dataset.workflow` job for each unprocessed dataset (of a project, or those
   * named), in the project's queue. A dataset has at most one run queued or running.
   */
  run: submit.input(DatasetRunInput).output(DatasetRunOutput).mutation(({ ctx, input }) => ctx.services.datasets.queueRuns(ctx.principal, input)),
  /** A dataset's runs, newest first: each stage's states, notes, diagnostics, uploaded and deleted files. */
  runs: read.input(DatasetRunsInput).output(z.array(DatasetRun)).query(({ ctx, input }) => ctx.services.datasets.listRuns(ctx.principal, input)),
});

/**
 * What a running `dataset.workflow` job calls. Each call names the job's current lease; the
 * dataset is the one in that job's payload, so a worker reaches only datasets it holds.
 */
export const workflowRouter = router({
  /** Opens the run: records diagnostics, answers the dataset and project (with its workflow). */
  start: lease.input(WorkflowStartInput).output(WorkflowStartOutput).mutation(({ ctx, input }) => ctx.services.datasets.workflowStart(ctx.principal, input)),
  stage: lease.input(WorkflowStageInput).output(z.object({ ok: z.literal(true) })).mutation(({ ctx, input }) => ctx.services.datasets.workflowStage(ctx.principal, input)),
  /** The dataset's manifest, paged, for the setup stage. */
  files: lease.input(WorkflowFilesInput).output(WorkflowFilesOutput).query(({ ctx, input }) => ctx.services.datasets.workflowFiles(ctx.principal, input)),
  /** After the upload: records uploaded and deleted files and refreshes the manifest. */
  finish: lease
    .input(WorkflowFinishInput)
    .output(WorkflowFinishOutput)
    .mutation(({ ctx, input, signal }) => ctx.services.datasets.workflowFinish(ctx.principal, input, signal)),
});

export const itemsRouter = router({
  add: submit.input(ItemAddInput).output(Item).mutation(({ ctx, input }) => ctx.services.datasets.addItem(ctx.principal, input)),
  list: read.input(ItemListInput).output(ItemListOutput).query(({ ctx, input }) => ctx.services.datasets.listItems(ctx.principal, input)),
  /** Sets one attribute; without `type`, the key's existing type, else one inferred from the value. */
  setAttribute: submit.input(AttributeSetInput).output(Item).mutation(({ ctx, input }) => ctx.services.datasets.setAttribute(ctx.principal, input)),
});
