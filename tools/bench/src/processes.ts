import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

/** The monorepo root and the `drover` CLI every child runs (through tsx, from source). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const CLI = resolve(ROOT, "apps/cli/src/main.ts");

/** A child process of the benchmark: the `drover` CLI in its own Node process. */
export interface Child {
  name: string;
  proc: ChildProcess;
  /** The last few KB of stdout + stderr, for error messages. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// Every child ever started, until it exits. The rule that must hold: the benchmark never
// leaves a coordinator or worker behind, whether it ends normally, throws, or is interrupted.
const live = new Set<Child>();

function killAllNow(): void {
  for (const child of live) child.proc.kill("SIGKILL");
}
process.on("exit", killAllNow);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAllNow();
    process.exit(130);
  });
}

export interface SpawnOptions {
  name: string;
  /** The TypeScript entry point; default the `drover` CLI. */
  script?: string;
  /** Arguments after the script (for the CLI: after `drover`). */
  args: string[];
  env?: Record<string, string>;
  /** Node flags before the script, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Open an IPC channel (the stamp plugin reports job starts over it). */
  ipc?: boolean;
}

/** Starts `drover <args>` (or another TypeScript entry point) as a child process on this machine. */
export function spawnDrover(opts: SpawnOptions): Child {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), "--import", "tsx", "--conditions=@drover/source", opts.script ?? CLI, ...opts.args], {
    cwd: ROOT,
    // NODE_OPTIONS is cleared so that tsx's own loader setup in this process cannot leak in.
    env: { ...process.env, NODE_OPTIONS: "", ...opts.env },
    stdio: opts.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8192);
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const child: Child = {
    name: opts.name,
    proc,
    output: () => tail,
    exited: new Promise((res) =>
      proc.once("exit", (code, signal) => {
        live.delete(child);
        res({ code, signal });
      }),
    ),
  };
  live.add(child);
  return child;
}

/** Resolves with the first match of `pattern` in the child's stdout, or fails when it exits or `ms` pass. */
export function waitForOutput(child: Child, pattern: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
  return new Promise((res, rej) => {
    let seen = "";
    const timer = setTimeout(() => done(new Error(`${child.name}: no ${pattern} within ${ms} ms; output:\n${child.output()}`)), ms);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const m = pattern.exec(seen);
      if (m) done(undefined, m);
    };
    const onExit = () => done(new Error(`${child.name} exited before printing ${pattern}; output:\n${child.output()}`));
    const done = (error?: Error, match?: RegExpMatchArray) => {
      clearTimeout(timer);
      child.proc.stdout!.off("data", onData);
      child.proc.off("exit", onExit);
      if (error) rej(error);
      else res(match!);
    };
    child.proc.stdout!.on("data", onData);
    child.proc.once("exit", onExit);
  });
}

/** SIGTERM (the CLI's graceful shutdown), then SIGKILL if it is still running after `graceMs`. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill("SIGTERM");
  const exited = await Promise.race([child.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!exited) {
    child.proc.kill("SIGKILL");
    await child.exited;
  }
}

/** CPU time (user + system) a child has used so far, in ms; Linux only, else undefined. */
export function cpuMsOf(child: Child): number | undefined {
  try {
    // Fields after the command name: state is index 0, so utime and stime are 11 and 12.
    const fields = readFileSync(`/proc/${child.proc.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** Children still running (a check at the end of the run). */
export function liveChildren(): number {
  return live.size;
}
