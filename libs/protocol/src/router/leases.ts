import { z } from "zod";
import { procedureFor, router } from "../trpc.ts";
import {
  AcquireInput,
  CompleteInput,
  FailInput,
  HeartbeatInput,
  HeartbeatOutput,
  Lease,
  ReleaseInput,
  SettleOutput,
} from "../schemas/leases.ts";

const lease = procedureFor("lease");

export const leasesRouter = router({
  acquire: lease
    .input(AcquireInput)
    .output(z.array(Lease))
    .mutation(({ ctx, input, signal }) => ctx.services.leases.acquire(ctx.principal, input, signal)),
  heartbeat: lease.input(HeartbeatInput).output(HeartbeatOutput).mutation(({ ctx, input }) => ctx.services.leases.heartbeat(ctx.principal, input)),
  complete: lease.input(CompleteInput).output(SettleOutput).mutation(({ ctx, input }) => ctx.services.leases.complete(ctx.principal, input)),
  fail: lease.input(FailInput).output(SettleOutput).mutation(({ ctx, input }) => ctx.services.leases.fail(ctx.principal, input)),
  release: lease
    .input(ReleaseInput)
    .output(z.object({ released: z.number() }))
    .mutation(({ ctx, input }) => ctx.services.leases.release(ctx.principal, input)),
});
