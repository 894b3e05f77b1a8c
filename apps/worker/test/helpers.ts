import type { JobType } from "@drover/jobs";
import { builtinJobTypes } from "@drover/jobs";
import type { TestCoordinator } from "@drover/coordinator/testing";
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { Worker } from "../src/worker.ts";
import { WorkerConfigSchema, type WorkerConfigInput } from "../src/config.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const CLI = resolve(ROOT, "apps/cli/src/main.ts");

/** An in-process Worker against a test coordinator, stopped on dispose. */
export async function startInProcessWorker(
  t: TestCoordinator,
  config: Partial<WorkerConfigInput> = {},
  extraTypes: JobType[] = [],
): Promise<{ worker: Worker; done: Promise<void> } & AsyncDisposable> {
  const { token } = await t.admin.tokens.create.mutate({ name: "w", role: "worker" });
  const parsed = WorkerConfigSchema.parse({ url: t.coordinator.url, token, pollMs: 500, logLevel: "silent", ...config });
  const worker = new Worker(parsed, [...builtinJobTypes, ...extraTypes], pino({ level: "silent" }));
  const done = worker.run();
  return { worker, done, [Symbol.asyncDispose]: () => worker.shutdown(0) };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export interface Child {
  proc: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the real `drover` CLI as a child process (through tsx), collecting its output. */
export function spawnCli(args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", "--conditions=@drover/source", CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on("exit", (code, signal) => res({ code, signal })));
  return { proc, output: () => out, exited };
}
