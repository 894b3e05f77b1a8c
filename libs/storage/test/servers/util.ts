// Shared plumbing for the disposable loopback test servers in this folder: free ports,
// waiting for a port to accept connections, spawning a child that reports its port on
// stdout, and stopping a child for sure. Every server here binds 127.0.0.1 only.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const LOOPBACK = "127.0.0.1";

// Temp dirs still present when the test process exits are removed then (see below).
const tempDirs = new Set<string>();

/** A fresh temp dir; callers remove it with removeTempDir on dispose. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `drover-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Ask the kernel for a free loopback port. Another process may take it before the server
 * binds it, so servers that cannot bind port 0 themselves retry on a bind failure. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, LOOPBACK, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** True when something accepts a TCP connection on 127.0.0.1:port. */
export function portIsOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: LOOPBACK, port });
    sock.once("connect", () => { sock.destroy(); resolve(true); });
    sock.once("error", () => { sock.destroy(); resolve(false); });
  });
}

/** Collects a child's output so a failed start can say why. */
export function captureOutput(child: ChildProcess): () => string {
  let out = "";
  const add = (b: Buffer) => { out = (out + b.toString()).slice(-4000); };
  child.stdout?.on("data", add);
  child.stderr?.on("data", add);
  return () => out.trim();
}

// Children still running when the test process exits are killed, and leftover temp dirs
// removed, so a test that forgot to dispose (or failed half-way) leaves nothing behind.
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

export interface Managed {
  child: ChildProcess;
  /** Resolves when the child has exited (never rejects). */
  exited: Promise<void>;
  output: () => string;
  stop: () => Promise<void>;
}

/** Spawns a child that is killed with the test process and whose dirs are removed on stop. */
export function spawnManaged(cmd: string, args: string[], opts: SpawnOptions, dirs: string[]): Managed {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], ...opts });
  live.add(child);
  const output = captureOutput(child);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        // SIGTERM is enough for all of them; SIGKILL only if one hangs.
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      live.delete(child);
      await Promise.all(dirs.map(removeTempDir));
    })());
  return { child, exited, output, stop };
}

/** Waits for the first JSON line on the child's stdout (the child's "ready" report). */
export function readJsonLine<T>(m: Managed, what: string, timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buf = "";
    const onData = (b: Buffer) => {
      buf += b.toString();
      for (const line of buf.split("\n")) {
        const t = line.trim();
        if (!t.startsWith("{")) continue;
        try {
          done(); resolve(JSON.parse(t) as T); return;
        } catch { /* a partial line: wait for more */ }
      }
    };
    const timer = setTimeout(() => { done(); reject(new Error(`${what} did not report ready within ${timeoutMs} ms:\n${m.output()}`)); }, timeoutMs);
    const onExit = () => { done(); reject(new Error(`${what} exited before it was ready (code ${m.child.exitCode}, signal ${m.child.signalCode}):\n${m.output()}`)); };
    const onError = (e: Error) => { done(); reject(new Error(`${what} could not be spawned: ${e.message}`)); };
    function done() {
      clearTimeout(timer);
      m.child.stdout?.off("data", onData);
      m.child.off("exit", onExit);
      m.child.off("error", onError);
    }
    m.child.stdout?.on("data", onData);
    m.child.once("exit", onExit);
    m.child.once("error", onError);
  });
}

/** Polls until the port accepts connections; fails early if the child exits. */
export async function waitForPort(m: Managed, port: number, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let spawnError: Error | undefined;
  m.child.once("error", (e) => { spawnError = e; });
  for (;;) {
    if (spawnError) throw new Error(`${what} could not be spawned: ${spawnError.message}`);
    if (m.child.exitCode !== null || m.child.signalCode !== null) {
      throw new Error(`${what} exited before listening on ${LOOPBACK}:${port} (code ${m.child.exitCode}, signal ${m.child.signalCode}):\n${m.output()}`);
    }
    if (await portIsOpen(port)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${LOOPBACK}:${port} within ${timeoutMs} ms:\n${m.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs a command to completion; throws with its output on a non-zero exit. */
export function run(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
    const output = captureOutput(child);
    child.once("error", (e) => reject(new Error(`${cmd} could not be spawned: ${e.message}`)));
    child.once("close", (code, signal) => {
      if (code === 0) resolve(output());
      else reject(new Error(`${cmd} ${args.join(" ")} failed (code ${code}, signal ${signal}):\n${output()}`));
    });
  });
}
