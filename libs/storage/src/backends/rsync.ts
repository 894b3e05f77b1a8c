import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, mkdtemp, open, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Driver, WriteSource } from "../driver.ts";
import { StorageError } from "../errors.ts";
import { compareKeys } from "../keys.ts";
import type { RsyncOptions } from "../options.ts";
import { toNodeReadable } from "../streams.ts";
import type { ListEntry, ObjectInfo } from "../types.ts";
import { downloadDir, uploadDir } from "./rsync-dirs.ts";
import { filterPattern, isMissingOnly, parseListLine, rsyncError } from "./rsync-process.ts";
import { checkTool, makeRemote, type RsyncTarget } from "./rsync-remote.ts";

/**
 * rsync://[user@]host[:port]/module/prefix (an rsync daemon) and ssh://[user@]host[:port]/dir
 * or [user@]host:/dir (rsync over ssh), driven through the system `rsync` binary.
 *
 * - Objects are plain files under the root. rsync writes each file to a hidden
 *   `.name.XXXXXX` beside the target and renames it into place, so writes are atomic.
 *   We never pass --inplace or --partial, which would break that.
 * - Nothing is kept between calls: each operation is one rsync run (one connection).
 * - Reads and writes go through a private temp dir under os.tmpdir(); no range reads.
 * - rsync's temp files are listed like any other file: their `.name.XXXXXX` form cannot
 *   be told apart from a real key reliably, so we do not guess.
 */
export async function rsyncDriver(options: RsyncOptions & { target: RsyncTarget }): Promise<Driver> {
  const { target } = options;
  await checkTool(options.rsyncPath ?? "rsync", "rsync");
  if (target.scheme === "ssh") await checkTool("ssh", "ssh");
  const remote = makeRemote(options, target);
  /** How messages name a key: the remote path, never a password (there is none in `base`). */
  const where = (key: string): string => remote.base + remote.rel(key);

  async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), "drover-rsync-"));
    try {
      return await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** `--list-only` of base-relative paths given through --files-from (taken literally). */
  async function listPaths(paths: string[], recursive: boolean, what: string, key: string, signal: AbortSignal | undefined) {
    return withTempDir(async (dir) => {
      const args = ["--list-only", "--no-h", "-8", "--from0", "--files-from=-", "--no-implied-dirs", ...(recursive ? ["-r"] : [])];
      // With --files-from rsync wants a destination even for --list-only; it is not touched.
      const result = await remote.run([...args, "--", remote.base, `${dir}/`], { stdin: paths.map((p) => `${p}\0`).join(""), signal, what });
      if (result.code === 0 || result.code === 24) return result.lines; // 24: files vanished during the scan
      if (isMissingOnly(result)) return undefined;
      throw rsyncError(result, what, key, remote.secret);
    });
  }

  async function statKey(key: string, signal: AbortSignal | undefined): Promise<ObjectInfo | undefined> {
    const path = remote.rel(key);
    const lines = await listPaths([path], false, `stat ${where(key)}`, key, signal);
    for (const line of lines ?? []) {
      const entry = parseListLine(line);
      // A directory or a symlink is not an object.
      if (entry?.name === path) return entry.type === "-" ? { key, size: entry.size, modified: entry.modified } : undefined;
    }
    return undefined;
  }

  async function* list(prefix: string, delimiter: "/" | undefined, signal: AbortSignal | undefined): AsyncGenerator<ListEntry> {
    // List the deepest directory the prefix names, then keep what starts with the prefix.
    const dirKey = prefix.slice(0, prefix.lastIndexOf("/") + 1);
    const full = remote.rel(prefix);
    const dir = remote.rel(dirKey);
    const lines = await listPaths([dir === "" ? "./" : dir], delimiter === undefined, `list ${where(prefix)}`, prefix, signal);
    const entries: ListEntry[] = [];
    for (const line of lines ?? []) {
      const entry = parseListLine(line);
      if (entry === undefined || !entry.name.startsWith(full) || entry.name === "." || entry.name.length <= remote.rootRel.length) continue;
      const key = entry.name.slice(remote.rootRel.length);
      if (entry.type === "-") entries.push({ key, size: entry.size, modified: entry.modified });
      else if (entry.type === "d" && delimiter === "/" && key.length > dirKey.length) entries.push({ key: `${key}/`, prefix: true });
      // symlinks, devices, fifos: not objects
    }
    entries.sort((a, b) => compareKeys(a.key, b.key));
    yield* entries;
  }

  /** Pulls one key into `dir` and returns the local path; NotFound when it is no file. */
  async function pull(key: string, dir: string, signal: AbortSignal | undefined): Promise<string> {
    const what = `read ${where(key)}`;
    const args = ["--from0", "--files-from=-", "--no-relative", "--whole-file", "--", remote.base, `${dir}/`];
    const result = await remote.run(args, { stdin: `${remote.rel(key)}\0`, signal, what });
    const notFound = () => new StorageError("NotFound", `no object '${key}' at ${where("")}`, { key });
    if (result.code !== 0) throw isMissingOnly(result) ? notFound() : rsyncError(result, what, key, remote.secret);
    const local = join(dir, key.slice(key.lastIndexOf("/") + 1));
    // A directory arrives as an empty directory, a symlink not at all (no -l).
    const s = await lstat(local).catch(() => undefined);
    if (s === undefined || !s.isFile()) throw notFound();
    return local;
  }

  /** Puts the source at `dir/<basename>`, the name rsync gives the remote file. */
  async function spool(key: string, source: WriteSource, dir: string, signal: AbortSignal | undefined): Promise<{ local: string; size: number; followLink: boolean }> {
    const local = join(dir, key.slice(key.lastIndexOf("/") + 1));
    if (source.kind === "bytes") {
      await writeFile(local, source.data, { signal });
      return { local, size: source.size, followLink: false };
    }
    if (source.kind === "file") {
      // A symlink under the key's name, followed by --copy-links: no copy of the file.
      await symlink(resolve(source.path), local);
      return { local, size: source.size, followLink: true };
    }
    await pipeline(toNodeReadable(source.stream, signal), createWriteStream(local, { flags: "wx" }));
    return { local, size: (await stat(local)).size, followLink: false };
  }

  async function deleteMany(keys: string[], signal: AbortSignal | undefined): Promise<void> {
    if (keys.length === 0) return;
    // One run for the whole batch: an empty source dir synced onto the delete root with
    // --delete, where the filter includes exactly the keys and their parent directories
    // and excludes everything else. rsync only deletes what the filter lets it see, so
    // every other file is protected; a parent left empty goes too (like S3, where a
    // "directory" exists only while it holds keys), a non-empty one stays.
    const rules = new Set<string>();
    for (const key of keys) {
      const segments = remote.deleteRel(key).split("/");
      for (let i = 1; i < segments.length; i++) rules.add(`+ /${filterPattern(segments.slice(0, i).join("/"))}/`);
      rules.add(`+ /${filterPattern(segments.join("/"))}`);
    }
    rules.add("- *");
    const what = keys.length === 1 ? `delete ${where(keys[0]!)}` : `delete ${keys.length} keys under ${where("")}`;
    await withTempDir(async (dir) => {
      const empty = join(dir, "empty");
      await mkdir(empty);
      const rulesFile = join(dir, "rules");
      await writeFile(rulesFile, [...rules].map((rule) => `${rule}\0`).join(""));
      const args = ["-r", "--delete", "--from0", `--include-from=${rulesFile}`, "--", `${empty}/`, remote.deleteRoot];
      const result = await remote.run(args, { signal, what });
      if (result.code === 0) return;
      // Over ssh the delete root is the storage root; if it does not exist there is nothing to delete.
      if (result.code === 11 && /mkdir .* failed: No such file or directory/.test(result.stderr)) return;
      throw rsyncError(result, what, keys.length === 1 ? keys[0] : undefined, remote.secret);
    });
  }

  return {
    capabilities: {
      rangeRead: false,
      serverSideCopy: false,
      presign: false,
      multipart: false,
      listDelimiter: true,
      storedSha256: false,
      maxObjectSize: Number.MAX_SAFE_INTEGER,
    },

    stat: statKey,

    list(prefix, { delimiter, signal }) {
      return list(prefix, delimiter, signal);
    },

    async read(key, _range, signal) {
      return withTempDir(async (dir) => readFile(await pull(key, dir, signal)));
    },

    async readStream(key, _range, signal) {
      const dir = await mkdtemp(join(tmpdir(), "drover-rsync-"));
      try {
        const handle = await open(await pull(key, dir, signal), "r");
        // Unlinked at once: the open handle keeps the data readable, and nothing is left
        // on disk however the stream ends (read to the end, cancelled, or dropped).
        await rm(dir, { recursive: true, force: true });
        return Readable.toWeb(createReadStream("", { fd: handle, signal, highWaterMark: 1 << 20 })) as ReadableStream<Uint8Array>;
      } catch (error) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    },

    async write(key, source, { signal }) {
      return withTempDir(async (dir) => {
        const { local, size, followLink } = await spool(key, source, dir, signal);
        const slash = key.lastIndexOf("/");
        // --ignore-times: rsync's quick check would skip a rewrite of the same size within
        // the same second (it compares size and mtime). --whole-file: no delta against the
        // old object. --mkpath: create missing parent directories (rsync ≥ 3.2.3).
        const args = ["--mkpath", "--ignore-times", "--whole-file", ...(followLink ? ["--copy-links"] : []), "--", local, remote.dest(key.slice(0, slash + 1))];
        const what = `write ${where(key)}`;
        const result = await remote.run(args, { signal, what });
        if (result.code !== 0) throw rsyncError(result, what, key, remote.secret);
        return { key, size, modified: new Date() };
      });
    },

    delete: (key, signal) => deleteMany([key], signal),
    deleteMany,

    uploadDir: (localDir, prefix, dirOptions) => uploadDir(remote, localDir, prefix, dirOptions),
    downloadDir: (prefix, localDir, dirOptions) => downloadDir(remote, prefix, localDir, dirOptions),
  };
}

