import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

/** The `drover` binary of this checkout. */
export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "../bin/drover.mjs");

/** Runs `drover ARGS` with extra env; resolves with the exit code and stdout + stderr. */
export function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr.on("data", (c: Buffer) => (out += c.toString()));
  return new Promise((res) => proc.on("exit", (code) => res({ code, out })));
}

/** Polls `check` until it returns a value (not undefined or false), or fails after `ms`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
