// Runs a baseline tool (cp, rsync, rclone) to completion, as the storage benchmark times it.
import { spawn } from "node:child_process";

export interface ToolCommand {
  cmd: string;
  args: string[];
  /** The whole environment of the child (not merged). */
  env?: NodeJS.ProcessEnv;
}

/** The command line, for the report (no secrets are ever on it: they go by file or env). */
export function commandLine(c: ToolCommand): string {
  return [c.cmd, ...c.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** Resolves when the command exits 0; rejects with the tail of its output otherwise. */
export function runTool(c: ToolCommand): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(c.cmd, c.args, { stdio: ["ignore", "pipe", "pipe"], env: c.env ?? process.env });
    let tail = "";
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.once("error", (error) => reject(new Error(`${c.cmd} could not be started: ${error.message}`)));
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${commandLine(c)} failed (code ${code}, signal ${signal}):\n${tail.trim()}`));
    });
  });
}
