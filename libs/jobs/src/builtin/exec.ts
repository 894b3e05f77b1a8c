import { spawn } from "node:child_process";
import { defineJobType } from "../define.ts";
import { NonRetryableError } from "../errors.ts";
import { execSpec } from "./exec.spec.ts";

/** Keeps the last `limit` bytes of a stream, so a chatty command cannot fill memory. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString("utf8");
  }
}

export const execJob = defineJobType({
  ...execSpec,
  run(ctx) {
    const p = ctx.payload;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(p.command, p.args, {
        cwd: ctx.workDir,
        env: { ...process.env, ...p.env },
        stdio: ["ignore", "pipe", "pipe"],
        signal: ctx.signal,
        timeout: p.timeoutMs,
        killSignal: "SIGKILL",
      });
      const out = new Tail(p.tailBytes);
      const err = new Tail(p.tailBytes);
      child.stdout.on("data", (c: Buffer) => out.push(c));
      child.stderr.on("data", (c: Buffer) => err.push(c));
      child.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") reject(new NonRetryableError(`command not found: ${p.command}`, { code: "ENOENT", cause: e }));
        else if (e.name !== "AbortError") reject(e);
      });
      child.on("close", (code, signal) => {
        if (ctx.signal.aborted) return reject(ctx.signal.reason ?? new Error("aborted"));
        const result = { exitCode: code, signal, stdoutTail: out.toString(), stderrTail: err.toString(), durationMs: Date.now() - started };
        if (code !== null && p.okExitCodes.includes(code)) return resolve(result);
        const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
        reject(new Error(`${p.command} ${how}: ${result.stderrTail.slice(-500)}`));
      });
    });
  },
});
