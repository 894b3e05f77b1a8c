import { z } from "zod";
import { EpochMs, Name } from "./common.ts";
import { WorkerId } from "./leases.ts";

export const HostInfo = z.strictObject({
  hostname: z.string().max(255),
  platform: z.string().max(50),
  arch: z.string().max(50),
  cpus: z.number().int().min(0),
  memoryBytes: z.number().int().min(0),
  pid: z.number().int().min(0),
  nodeVersion: z.string().max(50),
});
export type HostInfo = z.infer<typeof HostInfo>;

export const RegisterInput = z.strictObject({
  name: z.string().min(1).max(200),
  labels: z.record(z.string().max(100), z.string().max(500)).default({}),
  types: z.array(Name).max(100),
  concurrency: z.number().int().min(1).max(10_000),
  version: z.string().max(100),
  host: HostInfo,
  /** Re-register under an id handed out before (a worker reconnecting after the coordinator restarts). */
  workerId: WorkerId.optional(),
});
export type RegisterInput = z.input<typeof RegisterInput>;

export const RegisterOutput = z.object({ workerId: WorkerId });

export const WorkerStatus = z.enum(["active", "lost", "gone"]);
export const WorkerInfo = z.object({
  id: WorkerId,
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  types: z.array(z.string()),
  concurrency: z.number(),
  version: z.string(),
  host: HostInfo,
  status: WorkerStatus,
  registeredAt: EpochMs,
  lastSeenAt: EpochMs,
  activeLeases: z.number(),
});
export type WorkerInfo = z.infer<typeof WorkerInfo>;

export const ByeInput = z.strictObject({ workerId: WorkerId });
export const ByeOutput = z.object({ released: z.number() });

export const LeaderboardInput = z.strictObject({
  /** Only jobs of this type. */
  type: Name.optional(),
  /** Rank by this count ("jobs" or a reported name such as "pairs"); default "jobs". */
  by: Name.default("jobs"),
  limit: z.number().int().min(1).max(1000).default(50),
});
export type LeaderboardInput = z.input<typeof LeaderboardInput>;

export const LeaderboardRow = z.object({
  /** The worker name (workers of one volunteer share it). */
  name: z.string(),
  /** Jobs this name completed. */
  jobs: z.number(),
  /** Every named count reported with those completions (e.g. pairs). */
  counts: z.record(z.string(), z.number()),
});
export type LeaderboardRow = z.infer<typeof LeaderboardRow>;

export const CountersByType = z.array(z.object({ type: z.string(), jobs: z.number(), counts: z.record(z.string(), z.number()) }));
export type CountersByType = z.infer<typeof CountersByType>;
