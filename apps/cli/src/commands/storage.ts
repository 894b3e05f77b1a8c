import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { pipeline } from "node:stream/promises";
import { Command } from "commander";
import {
  copyObject,
  copyPrefix,
  downloadDir,
  downloadFile,
  openStorage,
  toNodeReadable,
  StorageError,
  uploadDir,
  type DirTransferSummary,
  type Storage,
  type TransferProgress,
} from "@drover/storage";
import { fail } from "../fail.ts";
import { printJson, printTable } from "../output.ts";
import { parseIntArg } from "../parse.ts";
import { transferBar } from "../progress-bar.ts";

/**
 * `drover storage`: move data between any two backends by URL. An object URL is split at
 * its last "/" into the storage root and the key (s3://b/a/x.bin → s3://b/a/ + x.bin).
 */
function splitObjectUrl(url: string): { root: string; key: string } {
  const q = url.indexOf("?");
  const [path, query] = q < 0 ? [url, ""] : [url.slice(0, q), url.slice(q)];
  const slash = path.lastIndexOf("/");
  const afterScheme = path.indexOf("://") + 3;
  if (slash < 0) return { root: `./${query}`, key: path };
  if (slash < afterScheme || slash === path.length - 1) throw new StorageError("InvalidKey", `'${url}' names no object (it ends at a directory or bucket)`);
  return { root: path.slice(0, slash + 1) + query, key: path.slice(slash + 1) };
}

const isRemote = (url: string): boolean => url.includes("://") ? !url.startsWith("file://") : /^[^/]*:\//.test(url);

async function localKind(url: string): Promise<"dir" | "file" | "none"> {
  if (isRemote(url)) return "none";
  const path = url.startsWith("file://") ? new URL(url).pathname : url;
  const s = await stat(path).catch(() => undefined);
  return s === undefined ? "none" : s.isDirectory() ? "dir" : "file";
}

function localPath(url: string): string {
  return url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url;
}

async function withStorage<T>(url: string, body: (storage: Storage) => Promise<T>): Promise<T> {
  const storage = await openStorage(url);
  try {
    return await body(storage);
  } finally {
    await storage.close();
  }
}

/** Runs a storage command; a StorageError becomes one line naming its kind. */
function run<A extends unknown[]>(body: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await body(...args);
    } catch (error) {
      if (error instanceof StorageError) fail(`${error.kind}: ${error.message}`, error.kind === "ConfigInvalid" || error.kind === "InvalidKey" ? 2 : 1);
      fail((error as Error).message ?? String(error));
    }
  };
}

function summary(verb: string, s: DirTransferSummary): void {
  const rate = s.seconds > 0 ? (s.bytes / 1024 / 1024 / s.seconds).toFixed(1) : "-";
  console.error(`${verb} ${s.files} files (${s.bytes} bytes), skipped ${s.skipped} identical, in ${s.seconds.toFixed(2)} s (${rate} MiB/s)`);
}

/** Copies a tree: local→remote uploads, remote→local downloads, remote→remote streams. */
async function copyTree(src: string, dst: string, options: { concurrency?: number; skipIdentical: boolean }): Promise<DirTransferSummary> {
  const bar = transferBar(options.skipIdentical ? "sync" : "cp");
  const common = { concurrency: options.concurrency, skipIdentical: options.skipIdentical, onProgress: (p: TransferProgress) => bar.update(p) };
  try {
    if ((await localKind(src)) === "dir") return await uploadDir(localPath(src), dst, common);
    if (!isRemote(dst)) return await downloadDir(src, localPath(dst), common);
    return await withStorage(src, (from) => withStorage(dst, (to) => copyPrefix(from, "", to, "", common)));
  } finally {
    bar.stop();
  }
}

async function copyOne(src: string, dst: string): Promise<void> {
  const { root: srcRoot, key: srcKey } = splitObjectUrl(src);
  const target = dst.endsWith("/") ? dst + basename(srcKey) : dst;
  const { root: dstRoot, key: dstKey } = splitObjectUrl(target);
  const bar = transferBar("cp");
  const progress = (bytes: number, total: number): void => bar.update({ filesTotal: 1, filesDone: 0, filesSkipped: 0, bytesTotal: total, bytesDone: bytes, rate: 0 });
  try {
    await withStorage(srcRoot, async (from) => {
      if (!isRemote(target)) {
        const info = await from.stat(srcKey);
        let done = 0;
        await downloadFile(from, srcKey, localPath(target), { info, onBytes: (d) => progress((done += d), info.size) });
        return;
      }
      await withStorage(dstRoot, async (to) => {
        const info = await from.stat(srcKey);
        await copyObject(from, srcKey, to, dstKey, { info, onProgress: (b) => progress(b, info.size) });
      });
    });
  } finally {
    bar.stop();
  }
}

export function storageCommand(): Command {
  const storage = new Command("storage").description("list, read and copy data on any backend: memory, file, s3, gs, rsync, ssh");

  storage
    .command("ls <url>")
    .description("list one level under a URL (-r: every object below it)")
    .option("-r, --recursive", "list every object, not one level")
    .option("--json", "print JSON lines")
    .action(
      run(async (url: string, o: { recursive?: boolean; json?: boolean }) => {
        await withStorage(url, async (s) => {
          const rows: Record<string, unknown>[] = [];
          for await (const entry of s.list("", o.recursive ? {} : { delimiter: s.capabilities.listDelimiter ? "/" : undefined })) {
            if (o.json) console.log(JSON.stringify(entry));
            else rows.push(entry.prefix === true ? { size: "DIR", modified: "", key: entry.key } : { size: entry.size, modified: entry.modified?.toISOString() ?? "", key: entry.key });
          }
          if (!o.json) printTable(rows, ["size", "modified", "key"]);
        });
      }),
    );

  storage
    .command("stat <url>")
    .description("an object's size, time, etag and sha256")
    .action(run(async (url: string) => {
      const { root, key } = splitObjectUrl(url);
      await withStorage(root, async (s) => printJson(await s.stat(key)));
    }));

  storage
    .command("cat <url>")
    .description("write an object to stdout")
    .action(run(async (url: string) => {
      const { root, key } = splitObjectUrl(url);
      await withStorage(root, async (s) => {
        await pipeline(toNodeReadable(await s.readStream(key)), process.stdout);
      });
    }));

  storage
    .command("cp <src> <dst>")
    .description("copy an object or (with -r, or a local directory) a tree between any two backends; streams, no temp file")
    .option("-r, --recursive", "copy everything under src")
    .option("--concurrency <n>", "files at once", parseIntArg("concurrency"), 8)
    .action(run(async (src: string, dst: string, o: { recursive?: boolean; concurrency: number }) => {
      if (o.recursive || (await localKind(src)) === "dir") summary("copied", await copyTree(src, dst, { concurrency: o.concurrency, skipIdentical: false }));
      else await copyOne(src, dst);
    }));

  storage
    .command("sync <src> <dst>")
    .description("copy a tree, skipping files whose size and sha256 already match; never deletes")
    .option("--concurrency <n>", "files at once", parseIntArg("concurrency"), 8)
    .action(run(async (src: string, dst: string, o: { concurrency: number }) => summary("synced", await copyTree(src, dst, { concurrency: o.concurrency, skipIdentical: true }))));

  storage
    .command("rm <url>")
    .description("delete an object (-r: everything under a prefix)")
    .option("-r, --recursive", "delete every object under the URL")
    .action(run(async (url: string, o: { recursive?: boolean }) => {
      if (o.recursive) {
        const { root, key } = splitObjectUrl(url.endsWith("/") ? url.slice(0, -1) : url);
        const removed = await withStorage(root, (s) => s.deletePrefix(`${key}/`));
        console.error(`deleted ${removed} objects`);
        return;
      }
      const { root, key } = splitObjectUrl(url);
      await withStorage(root, (s) => s.delete(key));
    }));

  return storage;
}
