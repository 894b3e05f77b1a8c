// Public surface of @drover/worker, chosen by hand.
export { Worker, WORKER_VERSION, type WorkerStats } from "./worker.ts";
export { WorkerConfigSchema, WORKER_ENV, type WorkerConfig, type WorkerConfigInput } from "./config.ts";
export { startWorker, type StartWorkerOptions } from "./start.ts";
