import type { JobType } from "../define.ts";
import { execJob } from "./exec.ts";
import { noopJob } from "./noop.ts";
import { imagesJob } from "../crawl/images.ts";
import { watJob } from "../crawl/wat.ts";
import { downloadUrlJob } from "../download/download.ts";
import { datasetWorkflowJob } from "../dataset/workflow.ts";

/** The built-in job types with their runners (what a worker loads). */
export const builtinJobTypes: readonly JobType[] = [
  noopJob as unknown as JobType,
  execJob as unknown as JobType,
  imagesJob as unknown as JobType,
  watJob as unknown as JobType,
  downloadUrlJob as unknown as JobType,
  datasetWorkflowJob as unknown as JobType,
];
export { execJob, noopJob };
