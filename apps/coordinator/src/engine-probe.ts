// The lease engine alone, in this process, over a SQLite file: no HTTP, no tRPC, no auth.
// tools/bench's "engine" scenario uses it to show what the engine's own statements cost
// per job, the ceiling under every end-to-end figure (import "@drover/coordinator/testing").
import { builtinSpecs } from "@drover/jobs/specs";
import type { LeaseRecord, Principal } from "@drover/protocol";
import { parseCoordinatorConfig } from "./config.ts";
import { startCheckpointer } from "./db/checkpointer.ts";
import { openDatabase } from "./db/open.ts";
import { LeaseEngine } from "./engine/lease-engine.ts";
import { EngineState } from "./engine/state.ts";
import { JobTypeRegistry } from "./job-types.ts";
import { WorkersServiceImpl } from "./services/workers.ts";

export interface EngineProbe {
  /** Registers a worker (as an admin would) and returns its id. */
  registerWorker(name: string, types: string[], concurrency: number): string;
  /** leases.acquire without the wait: up to `max` jobs of `types`. */
  claim(workerId: string, types: string[], max: number): LeaseRecord[];
  /** leases.complete with `next`, as a worker's report asks for its next jobs. */
  completeAndClaim(workerId: string, leases: readonly LeaseRecord[], next: { types: string[]; max: number }): LeaseRecord[];
  close(): Promise<void>;
}

/**
 * Opens `file` (migrating it) as the coordinator does: WAL, checkpoints on a thread, the
 * default settings. A failed checkpoint goes to `onCheckpointError` (a growing WAL would
 * slow every commit and so distort what is measured).
 */
export function openEngineProbe(file: string, onCheckpointError: (message: string) => void): EngineProbe {
  const settings = parseCoordinatorConfig({}, {});
  const db = openDatabase(file);
  let state: EngineState;
  try {
    state = new EngineState(db, new JobTypeRegistry([...builtinSpecs], false), settings);
  } catch (error) {
    db.$client.close();
    throw error;
  }
  const stopCheckpointer = startCheckpointer(file, 1000, onCheckpointError);
  const engine = new LeaseEngine(state);
  const workers = new WorkersServiceImpl(state, engine, settings.defaultLeaseSeconds * 1000);
  const admin: Principal = { tokenId: "engine-probe", user: "engine-probe", role: "admin" };
  const host = { hostname: "engine-probe", platform: process.platform, arch: process.arch, cpus: 1, memoryBytes: 1, pid: process.pid, nodeVersion: process.version };
  return {
    registerWorker: (name, types, concurrency) => workers.register(admin, { name, labels: {}, types, concurrency, version: "probe", host }).workerId,
    claim: (workerId, types, max) => engine.claim(workerId, types, max),
    completeAndClaim: (workerId, leases, next) =>
      engine.complete(
        workerId,
        leases.map((l) => ({ jobId: l.jobId, attempt: l.attempt, leaseId: l.leaseId })),
        next,
      ).next,
    async close() {
      await stopCheckpointer();
      db.$client.close();
    },
  };
}
