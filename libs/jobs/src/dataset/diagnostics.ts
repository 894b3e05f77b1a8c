import { execFile } from "node:child_process";
import { statfs } from "node:fs/promises";
import { arch, availableParallelism, freemem, hostname, release, totalmem, type } from "node:os";
import type { Diagnostics } from "@drover/protocol";

/** First line of `cmd --version`, or undefined when the tool is missing or silent. */
export function toolVersion(cmd: string, args = ["--version"]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000, env: { ...process.env, LC_ALL: "C" } }, (error, stdout, stderr) => {
      if (error) return resolve(undefined);
      const line = `${stdout}${stderr}`.split("\n").find((l) => l.trim() !== "");
      resolve(line?.trim().slice(0, 500));
    });
  });
}

/** The worker as a dataset run records it: host, OS, cores, memory, free disk, tool versions. */
export async function collectDiagnostics(workDir: string, tools: Record<string, string>): Promise<Diagnostics> {
  const versions: Record<string, string> = { node: process.version };
  await Promise.all(
    Object.entries(tools).map(async ([name, cmd]) => {
      const v = await toolVersion(cmd);
      if (v !== undefined) versions[name] = v;
    }),
  );
  let diskFreeBytes: number | undefined;
  try {
    const fs = await statfs(workDir);
    diskFreeBytes = fs.bavail * fs.bsize;
  } catch {
    // Not every platform reports it; the field is optional.
  }
  return {
    host: hostname().slice(0, 255),
    os: `${type()} ${release()}`.slice(0, 255),
    arch: arch(),
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    ...(diskFreeBytes !== undefined ? { diskFreeBytes } : {}),
    versions,
  };
}
