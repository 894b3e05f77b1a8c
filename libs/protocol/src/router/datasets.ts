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
import { procedureFor, router } from "../trpc.ts";

const read = procedureFor("read");
const submit = procedureFor("submit");

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
});

export const itemsRouter = router({
  add: submit.input(ItemAddInput).output(Item).mutation(({ ctx, input }) => ctx.services.datasets.addItem(ctx.principal, input)),
  list: read.input(ItemListInput).output(ItemListOutput).query(({ ctx, input }) => ctx.services.datasets.listItems(ctx.principal, input)),
  /** Sets one attribute; without `type`, the key's existing type, else one inferred from the value. */
  setAttribute: submit.input(AttributeSetInput).output(Item).mutation(({ ctx, input }) => ctx.services.datasets.setAttribute(ctx.principal, input)),
});
