import { NoInput } from "../schemas/common.ts";
import { z } from "zod";
import { procedureFor, router } from "../trpc.ts";
import { ByeInput, ByeOutput, CountersByType, LeaderboardInput, LeaderboardRow, RegisterInput, RegisterOutput, WorkerInfo } from "../schemas/workers.ts";

const read = procedureFor("read");
const lease = procedureFor("lease");

export const workersRouter = router({
  register: lease.input(RegisterInput).output(RegisterOutput).mutation(({ ctx, input }) => ctx.services.workers.register(ctx.principal, input)),
  bye: lease.input(ByeInput).output(ByeOutput).mutation(({ ctx, input }) => ctx.services.workers.bye(ctx.principal, input.workerId)),
  list: read.input(NoInput).output(z.array(WorkerInfo)).query(({ ctx }) => ctx.services.workers.list(ctx.principal)),
  /** Jobs and reported counts (pairs, images) per worker name, ranked. */
  leaderboard: read.input(LeaderboardInput).output(z.array(LeaderboardRow)).query(({ ctx, input }) => ctx.services.workers.leaderboard(ctx.principal, input)),
  /** Jobs and reported counts per job type. */
  countersByType: read.input(NoInput).output(CountersByType).query(({ ctx }) => ctx.services.workers.countersByType(ctx.principal)),
});
