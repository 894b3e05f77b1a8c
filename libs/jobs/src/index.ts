// Public surface of @drover/jobs, chosen by hand.
export { defineJobType, assertJobType, assertJobTypeSpec, specOf, type JobContext, type JobType, type JobTypeDefaults, type JobTypeSpec, type SpawnJob } from "./define.ts";
export { offlineCoordinator } from "./offline.ts";
export { NonRetryableError, PluginLoadError, RequeueParentError } from "./errors.ts";
export { loadPlugin, loadPlugins } from "./load.ts";
export { builtinSpecs } from "./specs.ts";
export { builtinJobTypes, execJob, noopJob } from "./builtin/index.ts";
export { downloadUrlJob } from "./download/download.ts";
export { downloadUrlSpec, type DownloadUrlPayload, type DownloadUrlResult } from "./download/download.spec.ts";
export { datasetWorkflowJob } from "./dataset/workflow.ts";
export { datasetWorkflowSpec, type DatasetWorkflowPayload, type DatasetWorkflowResult } from "./dataset/workflow.spec.ts";
export { writePairs, type Pair, type PairsWriter } from "./crawl/pairs-parquet.ts";
