import { z } from "zod";
import { NoInput } from "../schemas/common.ts";
import {
  AttributeSetInput,
  Dataset,
  DatasetAddInput,
  DatasetInput,
  DatasetListInput,
  Item,
  ItemAddInput,
  ItemListInput,
  ItemListOutput,
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
});

export const itemsRouter = router({
  add: submit.input(ItemAddInput).output(Item).mutation(({ ctx, input }) => ctx.services.datasets.addItem(ctx.principal, input)),
  list: read.input(ItemListInput).output(ItemListOutput).query(({ ctx, input }) => ctx.services.datasets.listItems(ctx.principal, input)),
  /** Sets one attribute; without `type`, the key's existing type, else one inferred from the value. */
  setAttribute: submit.input(AttributeSetInput).output(Item).mutation(({ ctx, input }) => ctx.services.datasets.setAttribute(ctx.principal, input)),
});
