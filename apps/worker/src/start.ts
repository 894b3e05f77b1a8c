import { builtinJobTypes, loadPlugins, type JobType } from "@drover/jobs";
import type { Logger } from "pino";
import type { WorkerConfig } from "./config.ts";
import { Worker } from "./worker.ts";

export interface StartWorkerOptions {
  /** Job types beyond the built-ins and `config.plugins` (embedding, tests). */
  jobTypes?: readonly JobType[];
  logger?: Logger;
  /** Install SIGTERM/SIGINT handlers that shut the worker down gracefully. Default false. */
  handleSignals?: boolean;
}

/** Loads plugins, builds a Worker, and runs it until it has shut down. */
export async function startWorker(config: WorkerConfig, options: StartWorkerOptions = {}): Promise<{ worker: Worker; done: Promise<void> }> {
  const types = await loadPlugins(config.plugins, [...builtinJobTypes, ...(options.jobTypes ?? [])]);
  const worker = new Worker(config, types, options.logger);
  if (options.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      void worker.shutdown().then(() => process.exit(0));
      process.once(signal, () => process.exit(130)); // a second signal: stop now
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }
  const done = worker.run();
  return { worker, done };
}
