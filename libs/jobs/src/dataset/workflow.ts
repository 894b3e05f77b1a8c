// dataset.workflow: django-crunch's `crunch run` on a lease. Setup fetches the dataset's
// files (checked by sha256) into the work dir, the workflow runs there, and the upload
// pushes back what changed. Each stage's start, success or failure is recorded on the
// coordinator through calls fenced by this job's lease.
import { availableParallelism } from "node:os";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { droverErrorCode, type LeaseRef, type WorkflowStartOutput } from "@drover/protocol";
import { openStorage } from "@drover/storage";
import { defineJobType, type JobContext } from "../define.ts";
import { NonRetryableError } from "../errors.ts";
import { collectDiagnostics } from "./diagnostics.ts";
import { fetchFiles, readManifest } from "./fetch-files.ts";
import { pushBack, RUN_FILES } from "./push-back.ts";
import { runWorkflow, STDERR_TAIL_CHARS, workflowCommands, WorkflowFailedError } from "./run-workflow.ts";
import { datasetWorkflowSpec, type DatasetWorkflowPayload, type DatasetWorkflowResult } from "./workflow.spec.ts";

/** Files fetched or pushed at once. */
const TRANSFER_CONCURRENCY = 8;

type Stage = "setup" | "workflow" | "upload";

function errorNote(error: unknown): string {
  if (error instanceof WorkflowFailedError) return error.note;
  const e = error as { message?: string; code?: string };
  return `${e.code ? `${e.code}: ` : ""}${e.message ?? String(error)}`.slice(-STDERR_TAIL_CHARS);
}

export const datasetWorkflowJob = defineJobType({
  ...datasetWorkflowSpec,
  async run(ctx: JobContext<DatasetWorkflowPayload>): Promise<DatasetWorkflowResult> {
    const lease: LeaseRef = { jobId: ctx.jobId, attempt: ctx.attempt, leaseId: ctx.leaseId };
    const api = ctx.coordinator.workflow;
    const { signal } = ctx;
    const cmds = workflowCommands();
    const started: WorkflowStartOutput = await api.start
      .mutate({ lease, diagnostics: await collectDiagnostics(ctx.workDir, { bash: cmds.bash, snakemake: cmds.snakemake }) }, { signal })
      .catch((error: unknown) => {
        // Not allowed, or no such dataset: another attempt would be refused the same way.
        const code = droverErrorCode(error);
        if (code === "FORBIDDEN" || code === "NOT_FOUND") throw new NonRetryableError((error as Error).message, { code });
        throw error;
      });
    const { dataset, project } = started;
    const cores = ctx.payload.cores ?? availableParallelism();
    const durationsMs = { setup: 0, workflow: 0, upload: 0 };
    let stage: Stage = "setup";
    // The stage that is running, so a failure is recorded against it.
    const enter = async (next: Stage): Promise<void> => {
      stage = next;
      await api.stage.mutate({ lease, stage: next, state: "start" }, { signal });
    };
    const storage = await openStorage(dataset.storagePrefix);
    try {
      // ---- setup (its start was recorded by workflow.start)
      let t = Date.now();
      const dataDir = join(ctx.workDir, "data");
      await mkdir(dataDir, { recursive: true });
      const manifest = await readManifest(ctx.coordinator, lease, signal);
      for (const name of RUN_FILES) {
        if (manifest.has(name)) {
          throw new NonRetryableError(`dataset '${dataset.slug}' has a file '${name}': that name is reserved for the file the run writes beside the dataset's files; rename it`, {
            code: "DATASET_RESERVED_NAME",
          });
        }
      }
      ctx.log(`setup: fetching ${manifest.size} files of dataset '${dataset.slug}' from ${dataset.storagePrefix}`);
      const fetched = await fetchFiles(storage, manifest, dataDir, {
        concurrency: TRANSFER_CONCURRENCY,
        signal,
        onFile: (done) => ctx.progress((0.2 * done) / Math.max(1, manifest.size), `setup: ${done}/${manifest.size} files`),
      });
      await writeFile(join(dataDir, "dataset.json"), JSON.stringify(dataset, null, 2));
      await writeFile(join(dataDir, "project.json"), JSON.stringify(project, null, 2));
      const scriptPath = join(ctx.workDir, project.workflow.kind === "bash" ? "workflow.sh" : "Snakefile");
      await writeFile(scriptPath, project.workflow.script);
      await api.stage.mutate({ lease, stage: "setup", state: "success" }, { signal });
      durationsMs.setup = Date.now() - t;

      // ---- workflow
      await enter("workflow");
      t = Date.now();
      ctx.progress(0.2, `workflow: ${project.workflow.kind}, ${cores} cores`);
      const outcome = await runWorkflow({
        kind: project.workflow.kind,
        scriptPath,
        cwd: dataDir,
        cores,
        env: {
          DROVER_DATASET: dataset.slug,
          DROVER_PROJECT: project.slug,
          DROVER_CORES: String(cores),
          DROVER_JOB_ID: String(ctx.jobId),
          DROVER_ATTEMPT: String(ctx.attempt),
        },
        signal,
        onLine: (line) => ctx.log(line),
      });
      signal.throwIfAborted();
      if (outcome.exitCode !== 0) {
        const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
        const note = `${project.workflow.kind} workflow ${how}\n${outcome.stderrTail}`.slice(-STDERR_TAIL_CHARS);
        throw new WorkflowFailedError(`the workflow of dataset '${dataset.slug}' ${how}: ${outcome.stderrTail.trim().slice(-500)}`, note);
      }
      await api.stage.mutate({ lease, stage: "workflow", state: "success" }, { signal });
      durationsMs.workflow = Date.now() - t;

      // ---- upload
      await enter("upload");
      t = Date.now();
      const pushed = await pushBack(storage, dataDir, manifest, {
        concurrency: TRANSFER_CONCURRENCY,
        signal,
        onFile: (done, total) => ctx.progress(0.8 + (0.2 * done) / Math.max(1, total), `upload: ${done}/${total} files checked`),
      });
      const finished = await api.finish.mutate({ lease, uploaded: pushed.uploaded, deleted: pushed.deleted }, { signal });
      durationsMs.upload = Date.now() - t;
      ctx.log(`upload: ${pushed.uploaded.length} files pushed back (${pushed.uploadedBytes} bytes), ${pushed.deleted.length} deleted by the workflow`);
      ctx.count("bytes", pushed.uploadedBytes);
      return {
        dataset: dataset.slug,
        runId: started.runId,
        downloaded: fetched.files,
        downloadedBytes: fetched.bytes,
        uploaded: pushed.uploaded.length,
        uploadedBytes: pushed.uploadedBytes,
        deleted: pushed.deleted.length,
        files: finished.files,
        bytes: finished.bytes,
        exitCode: outcome.exitCode,
        durationsMs,
      };
    } catch (error) {
      // A lost lease records nothing (the coordinator would refuse it anyway).
      if (!signal.aborted) {
        await api.stage.mutate({ lease, stage, state: "fail", note: errorNote(error) }).catch((e: unknown) => ctx.log(`could not record the ${stage} failure: ${(e as Error).message}`));
      }
      throw error;
    } finally {
      await storage.close();
    }
  },
});
