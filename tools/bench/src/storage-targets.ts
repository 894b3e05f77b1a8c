// The backends the storage benchmark runs against, each on loopback with its baseline tool:
// a local directory (cp), s3rver (rclone), an rsync daemon (rsync) and the GCS emulator (no
// baseline). Every storage is rooted at `bench/`; transfers go under a prefix below it.
import { openStorage, type Storage } from "@drover/storage";
import { startGcsEmulator, startRsyncDaemon, startS3rver } from "@drover/storage/test-servers";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { countTree, type TreeCount } from "./storage-data.ts";
import type { ToolCommand } from "./storage-tool.ts";

export type BackendName = "local" | "s3" | "rsync" | "gcs";

/** The tool Drover is compared with, doing the same transfer. */
export interface Baseline {
  tool: "cp" | "rsync" | "rclone";
  /** First line of `tool --version`. */
  version: string;
  /** The goal: Drover's throughput ≥ `target` × the tool's. */
  target: number;
  /** Copies the files in local `src` to `prefix` (which does not exist yet). */
  upload(src: string, prefix: string): ToolCommand;
  /** Copies everything under `prefix` into local `dest` (which does not exist yet). */
  download(prefix: string, dest: string): ToolCommand;
}

export interface StorageTarget {
  /** For the table: "local", "s3rver", "rsync daemon", "GCS emulator". */
  label: string;
  /** Drover's view: openStorage on the `bench/` root. */
  storage: Storage;
  baseline?: Baseline | undefined;
  /** A server limit below the benchmark's sizes: bigger files are not tried, and why. */
  maxFileBytes?: { bytes: number; why: string } | undefined;
  /** Where the server listens, the options Drover was given (no secrets). */
  describe: Record<string, unknown>;
  /** Untimed: nothing left under `prefix`. */
  clear(prefix: string): Promise<void>;
  /** Files and bytes under `prefix`. */
  count(prefix: string): Promise<TreeCount>;
  close(): Promise<void>;
}

const noSlash = (prefix: string): string => prefix.replace(/\/+$/, "");

function versionOf(cmd: string, args = ["--version"]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", env: withoutCaBundle() }).split("\n", 1)[0]!.trim();
  } catch {
    return "unknown";
  }
}

/** This machine sets AWS_CA_BUNDLE, which breaks rclone (see /work/shared/ENVIRONMENT.md). */
function withoutCaBundle(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env["AWS_CA_BUNDLE"];
  return env;
}

async function listCount(storage: Storage, prefix: string): Promise<TreeCount> {
  const total: TreeCount = { files: 0, bytes: 0 };
  for await (const entry of storage.list(prefix)) {
    if (entry.prefix === true) continue;
    total.files += 1;
    total.bytes += entry.size;
  }
  return total;
}

async function localTarget(work: string): Promise<StorageTarget> {
  const root = join(work, "local-store");
  mkdirSync(root, { recursive: true });
  const storage = await openStorage(`file://${root}/`);
  const at = (prefix: string): string => join(root, noSlash(prefix));
  return {
    label: "local",
    storage,
    baseline: {
      tool: "cp",
      version: versionOf("cp"),
      target: 0.9,
      upload: (src, prefix) => ({ cmd: "cp", args: ["-r", src, at(prefix)] }),
      download: (prefix, dest) => ({ cmd: "cp", args: ["-r", at(prefix), dest] }),
    },
    describe: { url: storage.url },
    clear: async (prefix) => rmSync(at(prefix), { recursive: true, force: true }),
    count: (prefix) => countTree(at(prefix)),
    close: async () => {
      await storage.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function s3Target(concurrency: number): Promise<StorageTarget> {
  const srv = await startS3rver({ bucket: "drover-bench" });
  try {
    const s3 = {
      endpoint: srv.endpoint,
      region: srv.region,
      forcePathStyle: true,
      credentials: { accessKeyId: srv.accessKeyId, secretAccessKey: srv.secretAccessKey },
    };
    const storage = await openStorage(`s3://${srv.bucket}/bench/`, { s3 });
    // rclone's remote "bench" from env only: no config file is read or written.
    const env = withoutCaBundle({
      RCLONE_CONFIG: "/dev/null",
      RCLONE_CONFIG_BENCH_TYPE: "s3",
      RCLONE_CONFIG_BENCH_PROVIDER: "Other",
      RCLONE_CONFIG_BENCH_ENDPOINT: srv.endpoint,
      RCLONE_CONFIG_BENCH_REGION: srv.region,
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: srv.accessKeyId,
      RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: srv.secretAccessKey,
      RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: "true",
    });
    const remote = (prefix: string): string => `bench:${srv.bucket}/bench/${noSlash(prefix)}`;
    const flags = ["--transfers", String(concurrency)];
    return {
      label: "s3rver",
      storage,
      baseline: {
        tool: "rclone",
        version: versionOf("rclone", ["version"]),
        target: 1.0,
        upload: (src, prefix) => ({ cmd: "rclone", args: ["copy", src, remote(prefix), ...flags], env }),
        download: (prefix, dest) => ({ cmd: "rclone", args: ["copy", remote(prefix), dest, ...flags], env }),
      },
      describe: { url: storage.url, endpoint: srv.endpoint, region: srv.region, forcePathStyle: true, rcloneFlags: flags },
      clear: async (prefix) => {
        await storage.deletePrefix(prefix);
      },
      count: (prefix) => listCount(storage, prefix),
      close: async () => {
        await storage.close();
        await srv.stop();
      },
    };
  } catch (error) {
    await srv.stop();
    throw error;
  }
}

async function rsyncTarget(): Promise<StorageTarget> {
  const srv = await startRsyncDaemon();
  try {
    const storage = await openStorage(`${srv.url}/bench/`, { rsync: { passwordFile: srv.passwordFile } });
    // The module is a directory on this machine: clearing and counting look at it directly.
    const onDisk = (prefix: string): string => join(srv.dir, "bench", noSlash(prefix));
    mkdirSync(join(srv.dir, "bench"), { recursive: true });
    const auth = `--password-file=${srv.passwordFile}`;
    return {
      label: "rsync daemon",
      storage,
      baseline: {
        tool: "rsync",
        version: versionOf("rsync"),
        target: 0.9,
        upload: (src, prefix) => ({ cmd: "rsync", args: ["-r", auth, `${src}/`, `${srv.url}/bench/${noSlash(prefix)}/`] }),
        download: (prefix, dest) => ({ cmd: "rsync", args: ["-r", auth, `${srv.url}/bench/${noSlash(prefix)}/`, `${dest}/`] }),
      },
      describe: { url: storage.url, port: srv.port, module: srv.module },
      clear: async (prefix) => rmSync(onDisk(prefix), { recursive: true, force: true }),
      count: (prefix) => countTree(onDisk(prefix)),
      close: async () => {
        await storage.close();
        await srv.stop();
      },
    };
  } catch (error) {
    await srv.stop();
    throw error;
  }
}

async function gcsTarget(): Promise<StorageTarget> {
  const srv = await startGcsEmulator({ bucket: "drover-bench" });
  try {
    const gcs = { apiEndpoint: srv.apiEndpoint, projectId: srv.projectId };
    const storage = await openStorage(`gs://${srv.bucket}/bench/`, { gcs });
    return {
      label: "GCS emulator",
      storage,
      // firebase-tools' emulator parses each upload request's body with a 130 MB limit (413
      // above it), and Drover sends a file as one request (the emulator cannot do chunks).
      maxFileBytes: { bytes: 130e6, why: "the emulator refuses request bodies over 130 MB (HTTP 413)" },
      describe: { url: storage.url, ...gcs },
      clear: async (prefix) => {
        await storage.deletePrefix(prefix);
      },
      count: (prefix) => listCount(storage, prefix),
      close: async () => {
        await storage.close();
        await srv.stop();
      },
    };
  } catch (error) {
    await srv.stop();
    throw error;
  }
}

/** Starts the backend's server (if any) and opens Drover's storage on it. */
export function startTarget(name: BackendName, work: string, concurrency: number): Promise<StorageTarget> {
  switch (name) {
    case "local":
      return localTarget(work);
    case "s3":
      return s3Target(concurrency);
    case "rsync":
      return rsyncTarget();
    case "gcs":
      return gcsTarget();
  }
}
