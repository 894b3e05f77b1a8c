import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { NonRetryableError } from "../errors.ts";

/** How much of stderr a failed run keeps as its note. */
export const STDERR_TAIL_CHARS = 4000;

/** The executables, overridable for workers with unusual installs. */
export function workflowCommands(): { bash: string; snakemake: string } {
  return { bash: process.env["DROVER_BASH"] || "bash", snakemake: process.env["DROVER_SNAKEMAKE"] || "snakemake" };
}

export interface WorkflowRun {
  kind: "bash" | "snakemake";
  /** The script (bash) or Snakefile, as a path. */
  scriptPath: string;
  /** Where it runs: the dataset's files. */
  cwd: string;
  cores: number;
  env: Record<string, string>;
  signal: AbortSignal;
  /** Each line of output, stderr lines marked. */
  onLine: (line: string) => void;
}

export interface WorkflowOutcome {
  exitCode: number;
  signal: NodeJS.Signals | null;
  stderrTail: string;
}

/** A failed workflow: its note is the stderr tail. Failing again would fail the same way, so no retry. */
export class WorkflowFailedError extends NonRetryableError {
  constructor(
    message: string,
    readonly note: string,
  ) {
    super(message, { code: "WORKFLOW_FAILED" });
  }
}

/**
 * The worker's environment minus its own secrets: the workflow is the project owner's code,
 * and must not see the token the worker leases with.
 */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env["DROVER_TOKEN"];
  return env;
}

/**
 * Runs the workflow in its own process group, streaming output line by line. On abort the
 * whole group gets SIGTERM, then SIGKILL 5 s later, so a lost lease leaves nothing running.
 */
export function runWorkflow(run: WorkflowRun): Promise<WorkflowOutcome> {
  const { bash, snakemake } = workflowCommands();
  const [cmd, args] =
    run.kind === "bash" ? [bash, [run.scriptPath]] : [snakemake, ["--snakefile", run.scriptPath, "--cores", String(run.cores), "--directory", run.cwd]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: run.cwd, env: childEnv(run.env), stdio: ["ignore", "pipe", "pipe"], detached: true });
    let tail = "";
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    const onAbort = () => {
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), 5000);
      killTimer.unref();
    };
    run.signal.addEventListener("abort", onAbort, { once: true });
    if (run.signal.aborted) onAbort();
    createInterface({ input: child.stdout }).on("line", (line) => run.onLine(line));
    createInterface({ input: child.stderr }).on("line", (line) => {
      tail = (tail + line + "\n").slice(-STDERR_TAIL_CHARS);
      run.onLine(`[stderr] ${line}`);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      run.signal.removeEventListener("abort", onAbort);
      if (error.code === "ENOENT") {
        const hint = run.kind === "snakemake" ? "install Snakemake on this worker (pip install snakemake) or set DROVER_SNAKEMAKE" : "install bash or set DROVER_BASH";
        reject(new NonRetryableError(`the ${run.kind} workflow needs '${cmd}', which is not installed on this worker: ${hint}`, { code: "WORKFLOW_RUNNER_MISSING" }));
      } else reject(error);
    });
    child.on("close", (code, sig) => {
      run.signal.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
      resolve({ exitCode: code ?? -1, signal: sig, stderrTail: tail });
    });
  });
}
