import { createStorage } from "./storage.ts";
import { gcsOptionsSchema, localOptionsSchema, resolveOptions, rsyncOptionsSchema, s3OptionsSchema, type OpenStorageOptions } from "./options.ts";
import { parseStorageUrl, redact } from "./url.ts";
import type { Storage } from "./types.ts";
import { z } from "zod";

/**
 * Opens a storage by URL. Each backend's module (and its SDK) is imported only when a URL
 * of its scheme is opened, so a worker that only uses local files never loads the AWS SDK.
 *
 *   memory://name/prefix · file:///abs/path · ./relative/path · s3://bucket/prefix
 *   gs://bucket/prefix · rsync://[user@]host[:port]/module/path · [user@]host:/path
 *   ssh://[user@]host[:port]/abs/path
 */
export async function openStorage(url: string, options: OpenStorageOptions = {}): Promise<Storage> {
  const env = options.env ?? process.env;
  const parsed = parseStorageUrl(url, options.cwd);
  switch (parsed.scheme) {
    case "memory": {
      resolveOptions(parsed, z.strictObject({}), undefined, env);
      const { memoryDriver } = await import("./backends/memory.ts");
      return createStorage(memoryDriver({ name: parsed.name, root: parsed.root }), `memory://${parsed.name}/${parsed.root}`, "memory");
    }
    case "file": {
      const local = resolveOptions(parsed, localOptionsSchema, options.local, env);
      const { localDriver } = await import("./backends/local.ts");
      return createStorage(localDriver({ root: parsed.path, fsync: local.fsync }), `file://${parsed.path}`, "file");
    }
    case "s3": {
      const s3 = resolveOptions(parsed, s3OptionsSchema, options.s3, env);
      const { s3Driver } = await import("./backends/s3.ts");
      return createStorage(await s3Driver({ ...s3, bucket: parsed.bucket, root: parsed.root }), `s3://${parsed.bucket}/${parsed.root}`, "s3");
    }
    case "gs": {
      const gcs = resolveOptions(parsed, gcsOptionsSchema, options.gcs, env);
      const { gcsDriver } = await import("./backends/gcs.ts");
      return createStorage(await gcsDriver({ ...gcs, bucket: parsed.bucket, root: parsed.root }), `gs://${parsed.bucket}/${parsed.root}`, "gs");
    }
    case "rsync":
    case "ssh": {
      const rsync = resolveOptions(parsed, rsyncOptionsSchema, options.rsync, env);
      const { rsyncDriver } = await import("./backends/rsync.ts");
      const driver = await rsyncDriver({ ...rsync, target: parsed });
      return createStorage(driver, redact(canonicalRemote(parsed)), parsed.scheme);
    }
  }
}

function canonicalRemote(parsed: Extract<ReturnType<typeof parseStorageUrl>, { scheme: "rsync" | "ssh" }>): string {
  const user = parsed.user === undefined ? "" : `${parsed.user}@`;
  const port = parsed.port === undefined ? "" : `:${parsed.port}`;
  if (parsed.scheme === "rsync") return `rsync://${user}${parsed.host}${port}/${parsed.module}/${parsed.path}`;
  return `ssh://${user}${parsed.host}${port}${parsed.path}`;
}
