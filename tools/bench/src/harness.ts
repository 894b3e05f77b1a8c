import { createDroverClient, type DroverClient } from "@drover/protocol";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { STAMP_IPC_ENV } from "./clock.ts";
import { DbProbe } from "./db-probe.ts";
import { cpuMsOf, spawnDrover, stopChild, waitForOutput, type Child } from "./processes.ts";

/**
 * Node flags that write a V8 CPU profile per thread into `<dir>/<name>/` when the process
 * exits (the tsx loader's thread gets its own file; the largest one is the main thread).
 */
function profileArgs(dir: string | undefined, name: string): string[] {
  if (!dir) return [];
  mkdirSync(join(dir, name), { recursive: true });
  return ["--cpu-prof", `--cpu-prof-dir=${join(dir, name)}`];
}

export interface HarnessOptions {
  /** Label for process names, temp dirs and profile files. */
  name: string;
  /** Plugin modules the coordinator loads (for their job types' schemas). */
  plugins?: string[];
  /** Runs on the database file before the coordinator starts (direct seeding). */
  seed?: (dbFile: string) => void;
  /** Write V8 CPU profiles of the coordinator and the workers under this directory when they stop. */
  cpuProfileDir?: string | undefined;
}

export interface WorkerSetOptions {
  count: number;
  concurrency: number;
  types: string[];
  plugins?: string[];
  /** Open an IPC channel to each worker (the stamp plugin reports over it). */
  ipc?: boolean;
}

/**
 * One coordinator process on 127.0.0.1 with a fresh data dir, an admin client, a worker
 * token, and a read-only view of its database; worker processes are added per scenario.
 * `close()` stops every process it started and removes the data dir.
 */
export class Harness implements AsyncDisposable {
  readonly workers: Child[] = [];
  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly dbFile: string,
    readonly url: string,
    readonly admin: DroverClient,
    readonly workerToken: string,
    readonly probe: DbProbe,
    private readonly coordinator: Child,
    private readonly cpuProfileDir: string | undefined,
  ) {}

  static async start(opts: HarnessOptions): Promise<Harness> {
    const dir = mkdtempSync(join(tmpdir(), `drover-bench-${opts.name}-`));
    const dbFile = join(dir, "drover.db");
    let coordinator: Child | undefined;
    try {
      opts.seed?.(dbFile);
      const adminToken = randomBytes(24).toString("hex");
      coordinator = spawnDrover({
        name: `coordinator-${opts.name}`,
        nodeArgs: profileArgs(opts.cpuProfileDir, `coordinator-${opts.name}`),
        args: ["coordinator", "--host", "127.0.0.1", "--port", "0", "--data-dir", dir, "--log-level", "warn", ...(opts.plugins ?? []).flatMap((p) => ["--plugin", p])],
        env: { DROVER_ADMIN_TOKEN: adminToken },
      });
      const [, url] = await waitForOutput(coordinator, /listening on (http:\/\/127\.0\.0\.1:\d+)/, 120_000);
      const admin = createDroverClient({ url: url!, token: adminToken });
      const { token } = await admin.tokens.create.mutate({ name: "bench-workers", role: "worker" });
      return new Harness(opts.name, dir, dbFile, url!, admin, token, new DbProbe(dbFile), coordinator, opts.cpuProfileDir);
    } catch (error) {
      if (coordinator) await stopChild(coordinator, 2000);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** CPU time the coordinator process has used so far, ms (Linux only). */
  coordinatorCpuMs(): number | undefined {
    return cpuMsOf(this.coordinator);
  }

  /** Starts `count` worker processes and waits until all have registered. */
  async startWorkers(opts: WorkerSetOptions): Promise<Child[]> {
    const first = this.workers.length;
    const started: Child[] = [];
    for (let i = 0; i < opts.count; i++) {
      const name = `bench-${this.name}-w${first + i + 1}`;
      const child = spawnDrover({
        name,
        nodeArgs: profileArgs(this.cpuProfileDir, name),
        ipc: opts.ipc ?? false,
        args: [
          "worker",
          "--coordinator", this.url,
          "--types", opts.types.join(","),
          "--concurrency", String(opts.concurrency),
          "--name", name,
          "--work-dir", join(this.dir, "work"),
          "--log-level", "warn",
          ...(opts.plugins ?? []).flatMap((p) => ["--plugin", p]),
        ],
        // The token goes by env, not argv, so it does not show in `ps`.
        env: { DROVER_TOKEN: this.workerToken, ...(opts.ipc ? { [STAMP_IPC_ENV]: "1" } : {}) },
      });
      started.push(child);
      this.workers.push(child);
    }
    const names = new Set(started.map((c) => c.name));
    const deadline = Date.now() + 120_000;
    for (;;) {
      const active = (await this.admin.workers.list.query()).filter((w) => names.has(w.name) && w.status === "active").length;
      if (active === names.size) break;
      const dead = started.find((c) => c.proc.exitCode !== null);
      if (dead) throw new Error(`${dead.name} exited at start; output:\n${dead.output()}`);
      if (Date.now() > deadline) throw new Error(`only ${active} of ${names.size} workers registered within 120 s`);
      await sleep(100);
    }
    return started;
  }

  /** Stops the workers started so far (graceful: they say bye). */
  async stopWorkers(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => stopChild(w)));
  }

  private closing: Promise<void> | undefined;

  /** Stops everything; a second call (a scenario closing early, then `await using`) waits for the first. */
  close(): Promise<void> {
    return (this.closing ??= this.closeOnce());
  }

  private async closeOnce(): Promise<void> {
    try {
      await this.stopWorkers();
      this.probe.close();
      // Graceful, so that --cpu-prof gets to write its profile.
      await stopChild(this.coordinator, 30_000);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
