import { NoInput } from "../schemas/common.ts";
import { z } from "zod";
import { procedureFor, router } from "../trpc.ts";
import { ClearOutput, PauseInput, QueueInfo, QueueInput, QueueStats } from "../schemas/queues.ts";

const read = procedureFor("read");
const manage = procedureFor("manage");

export const queuesRouter = router({
  list: read.input(NoInput).output(z.array(QueueInfo)).query(({ ctx }) => ctx.services.queues.list(ctx.principal)),
  stats: read.input(QueueInput).output(QueueStats).query(({ ctx, input }) => ctx.services.queues.stats(ctx.principal, input.queue)),
  pause: manage.input(PauseInput).output(QueueInfo).mutation(({ ctx, input }) => ctx.services.queues.pause(ctx.principal, input.queue, input.seconds)),
  resume: manage.input(QueueInput).output(QueueInfo).mutation(({ ctx, input }) => ctx.services.queues.resume(ctx.principal, input.queue)),
  clear: manage.input(QueueInput).output(ClearOutput).mutation(({ ctx, input }) => ctx.services.queues.clear(ctx.principal, input.queue)),
});
