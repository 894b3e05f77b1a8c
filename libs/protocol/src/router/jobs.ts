import { z } from "zod";
import { procedureFor, router } from "../trpc.ts";
import {
  AllocateIdsInput,
  AllocateIdsOutput,
  Job,
  JobCount,
  JobCountsInput,
  JobEvent,
  JobIdInput,
  JobListInput,
  JobListOutput,
  JobLogLine,
  JobSubmitBatchInput,
  JobSubmitInput,
  SubmitResult,
} from "../schemas/jobs.ts";

const read = procedureFor("read");
const submit = procedureFor("submit");

export const jobsRouter = router({
  submit: submit.input(JobSubmitInput).output(SubmitResult).mutation(({ ctx, input }) => ctx.services.jobs.submit(ctx.principal, input)),
  submitBatch: submit
    .input(JobSubmitBatchInput)
    .output(z.array(SubmitResult))
    .mutation(({ ctx, input }) => ctx.services.jobs.submitBatch(ctx.principal, input.jobs)),
  get: read.input(JobIdInput).output(Job).query(({ ctx, input }) => ctx.services.jobs.get(ctx.principal, input.id)),
  list: read.input(JobListInput).output(JobListOutput).query(({ ctx, input }) => ctx.services.jobs.list(ctx.principal, input)),
  counts: read.input(JobCountsInput).output(z.array(JobCount)).query(({ ctx, input }) => ctx.services.jobs.counts(ctx.principal, input)),
  events: read.input(JobIdInput).output(z.array(JobEvent)).query(({ ctx, input }) => ctx.services.jobs.events(ctx.principal, input.id)),
  logs: read.input(JobIdInput).output(z.array(JobLogLine)).query(({ ctx, input }) => ctx.services.jobs.logs(ctx.principal, input.id)),
  cancel: submit.input(JobIdInput).output(Job).mutation(({ ctx, input }) => ctx.services.jobs.cancel(ctx.principal, input.id)),
  retry: submit.input(JobIdInput).output(Job).mutation(({ ctx, input }) => ctx.services.jobs.retry(ctx.principal, input.id)),
  /** Reserves consecutive ids from a named sequence (e.g. sample ids for crawl shards). */
  allocateIds: submit.input(AllocateIdsInput).output(AllocateIdsOutput).mutation(({ ctx, input }) => ctx.services.jobs.allocateIds(ctx.principal, input)),
});
