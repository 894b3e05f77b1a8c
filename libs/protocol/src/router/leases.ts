import { z } from "zod";
import { procedureFor, router } from "../trpc.ts";
import {
  AcquireInput,
  CompleteInput,
  FailInput,
  HeartbeatInput,
  ReleaseInput,
} from "../schemas/leases.ts";

const lease = procedureFor("lease");

// The four hot procedures declare no .output() parser: the coordinator builds their answers
// itself (engine/lease-engine.ts), and re-parsing every lease cost measurable CPU per job.
// Their types still reach the client, inferred from the service interface.

export const leasesRouter = router({
  acquire: lease
    .input(AcquireInput)
    .mutation(({ ctx, input, signal }) => ctx.services.leases.acquire(ctx.principal, input, signal)),
  heartbeat: lease.input(HeartbeatInput).mutation(({ ctx, input }) => ctx.services.leases.heartbeat(ctx.principal, input)),
  complete: lease.input(CompleteInput).mutation(({ ctx, input }) => ctx.services.leases.complete(ctx.principal, input)),
  fail: lease.input(FailInput).mutation(({ ctx, input }) => ctx.services.leases.fail(ctx.principal, input)),
  release: lease
    .input(ReleaseInput)
    .output(z.object({ released: z.number() }))
    .mutation(({ ctx, input }) => ctx.services.leases.release(ctx.principal, input)),
});
