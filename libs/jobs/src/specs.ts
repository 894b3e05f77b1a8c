// The built-in job types' specs only (name + schemas + defaults): what the coordinator
// imports. Runners live in ./builtin/*.ts and are loaded by workers.
import type { JobTypeSpec } from "./define.ts";
import { execSpec } from "./builtin/exec.spec.ts";
import { noopSpec } from "./builtin/noop.spec.ts";
import { imagesSpec } from "./crawl/images.spec.ts";
import { watSpec } from "./crawl/wat.spec.ts";
import { gpuSpec } from "./crawl/gpu.spec.ts";
import { downloadUrlSpec } from "./download/download.spec.ts";
import { datasetWorkflowSpec } from "./dataset/workflow.spec.ts";

export const builtinSpecs: readonly JobTypeSpec[] = [noopSpec, execSpec, imagesSpec, gpuSpec, watSpec, downloadUrlSpec, datasetWorkflowSpec];
