import { NoInput } from "../schemas/common.ts";
import { procedureFor, publicProcedure, router } from "../trpc.ts";
import { Health, SystemStatus } from "../schemas/system.ts";

export const systemRouter = router({
  /** The one procedure that needs no token: for load balancers and `drover status`. */
  health: publicProcedure.input(NoInput).output(Health).query(({ ctx }) => ({ ok: true, version: ctx.services.system.version, time: Date.now() })),
  status: procedureFor("read").input(NoInput).output(SystemStatus).query(({ ctx }) => ctx.services.system.status(ctx.principal)),
});
