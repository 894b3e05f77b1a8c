import { z } from "zod";
import { EpochMs } from "./common.ts";
import { JobCount } from "./jobs.ts";

export const Health = z.object({ ok: z.boolean(), version: z.string(), time: EpochMs });

export const SystemStatus = z.object({
  version: z.string(),
  startedAt: EpochMs,
  counts: z.array(JobCount),
  workers: z.object({ active: z.number(), lost: z.number() }),
  queues: z.object({ total: z.number(), paused: z.number() }),
  you: z.object({ tokenId: z.string(), role: z.string(), user: z.string() }),
});
export type SystemStatus = z.infer<typeof SystemStatus>;
