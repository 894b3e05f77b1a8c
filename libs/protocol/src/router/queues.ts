import { NoInput } from "../schemas/common.ts";
import { z } from "zod";
import { procedureFor, router } from "../trpc.ts";
import { ClearOutput, PauseInput, QueueInfo, QueueInput, QueueStats, QueueStatsInput, SetConcurrencyInput } from "../schemas/queues.ts";

const read = procedureFor("read");
const submit = procedureFor("submit");
const manage = procedureFor("manage");

export const queuesRouter = router({
  list: read.input(NoInput).output(z.array(QueueInfo)).query(({ ctx }) => ctx.services.queues.list(ctx.principal)),
  stats: read.input(QueueStatsInput).output(QueueStats).query(({ ctx, input }) => ctx.services.queues.stats(ctx.principal, input.queue, input.user)),
  pause: manage.input(PauseInput).output(QueueInfo).mutation(({ ctx, input }) => ctx.services.queues.pause(ctx.principal, input.queue, input.seconds)),
  resume: manage.input(QueueInput).output(QueueInfo).mutation(({ ctx, input }) => ctx.services.queues.resume(ctx.principal, input.queue)),
  /** Cancels queued jobs; a submitter's clear cancels only their own. */
  clear: submit.input(QueueInput).output(ClearOutput).mutation(({ ctx, input }) => ctx.services.queues.clear(ctx.principal, input.queue)),
  /** Caps leased jobs per queue and per group; takes effect at the next claim. */
  setConcurrency: manage
    .input(SetConcurrencyInput)
    .output(QueueInfo)
    .mutation(({ ctx, input }) => ctx.services.queues.setConcurrency(ctx.principal, input.queue, { concurrency: input.concurrency, groupConcurrency: input.groupConcurrency })),
});
