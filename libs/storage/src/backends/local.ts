import { createReadStream, existsSync, mkdirSync, readFile as readFileCallback, renameSync, rmSync, statSync, type Dirent } from "node:fs";
import { mkdir, open, readdir, rename, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import type { DirTransferOptions, DirTransferResult, Driver, WriteSource } from "../driver.ts";
import { walkLocalTree } from "../transfer/local-tree.ts";
import { StorageError, abortedError } from "../errors.ts";
import { checkKey, compareKeys, relativeKey } from "../keys.ts";
import { bytesStream, toNodeReadable, webFromNode } from "../streams.ts";
import { SYNC_FILE_BYTES, yieldIfLong } from "../time-slice.ts";
import type { ByteRange, ListEntry, ObjectInfo } from "../types.ts";
import { copyTree, type TreeFile } from "./local-dirs.ts";
import { TEMP_PATTERN, copySmallFile, copyToNewFile, isMissing, isTaken, removeQuietly, statFileSync, tempPathFor } from "./local-files.ts";

/**
 * Plain files under a root directory. Writes go to a hidden temp file in the target's own
 * directory and are renamed into place, so a reader sees the old file or the whole new
 * one; listings never show those temp files. Keys were checked by keys.ts (no "..", no
 * absolute path), so joining them onto the root cannot leave it.
 */
export interface LocalOptions {
  /** Absolute root directory; created on first write. */
  root: string;
  /** fsync each file before renaming it into place. Default false (like cp). */
  fsync?: boolean;
}

/** A file found under a prefix: its key, path and size. */
interface TreeSource {
  key: string;
  path: string;
  size: number;
}

export function localDriver(options: LocalOptions): Driver {
  const root = options.root;
  const pathOf = (key: string): string => join(root, ...key.split("/"));

  async function statPath(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(pathOf(key));
      return s.isFile() ? { key, size: s.size, modified: s.mtime } : undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async function writeTemp(temp: string, source: WriteSource, signal: AbortSignal | undefined): Promise<void> {
    if (source.kind === "bytes") {
      await writeFile(temp, source.data, { flag: "wx", signal });
    } else if (source.kind === "file") {
      await copyToNewFile(source.path, temp);
    } else {
      // The file is opened before the pipeline starts: a stream that fails at once must not
      // race an asynchronous open, or the caller's cleanup could run before the file exists.
      const handle = await open(temp, "wx");
      try {
        await pipeline(toNodeReadable(source.stream, signal), handle.createWriteStream({ highWaterMark: 1 << 20 }));
      } finally {
        // The write stream closes the handle when it ends or is destroyed; this covers a
        // failure before it existed. A second close is refused, and that is fine.
        await handle.close().catch(() => undefined);
      }
    }
    if (options.fsync === true) {
      const handle = await open(temp, "r+");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }

  // Directories this storage made or found: a tree upload then pays one mkdir per
  // directory, not one per file. A pruned directory is forgotten (see delete).
  const madeDirs = new Set<string>();
  async function ensureDir(dir: string): Promise<void> {
    if (madeDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    madeDirs.add(dir);
  }

  /** write() of a local file up to SYNC_FILE_BYTES: the same steps, as synchronous calls. */
  function writeSmallFile(key: string, from: string, size: number, signal: AbortSignal | undefined): ObjectInfo {
    const path = pathOf(key);
    const dir = dirname(path);
    if (!madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      madeDirs.add(dir);
    }
    const temp = tempPathFor(path);
    try {
      // The directory was known but has gone since (a delete pruned it): make it again once.
      copySmallFile(from, temp, "ENOENT", () => mkdirSync(dir, { recursive: true }));
      if (signal?.aborted) throw abortedError(signal, key);
      renameSync(temp, path);
    } catch (error) {
      if (!isTaken(error)) removeQuietly(temp); // the error that matters is the first one
      throw error;
    }
    return { key, size, modified: new Date() };
  }

  /** Removes directories left empty by a delete, up to (not including) the root. */
  async function pruneEmptyParents(path: string): Promise<void> {
    let dir = dirname(path);
    while (dir.length > root.length && dir.startsWith(root)) {
      try {
        await rmdir(dir);
        madeDirs.delete(dir);
      } catch {
        return; // not empty (or gone): stop climbing
      }
      dir = dirname(dir);
    }
  }

  /** The entries of `dir` a listing shows, in key order: names from `namePrefix`, no temp files. */
  async function listedEntries(dir: string, namePrefix: string): Promise<Dirent[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    // Sorting "dir/" rather than "dir" gives the exact UTF-8 key order of the whole tree.
    return entries
      .filter((e) => e.name.startsWith(namePrefix) && !TEMP_PATTERN.test(e.name) && (e.isFile() || e.isDirectory()))
      .map((e) => ({ entry: e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey))
      .map((e) => e.entry);
  }

  /** Every file under `dir` in key order, recursing unless `oneLevel`. */
  async function* walk(dir: string, keyPrefix: string, namePrefix: string, oneLevel: boolean): AsyncGenerator<ListEntry> {
    for (const entry of await listedEntries(dir, namePrefix)) {
      const key = keyPrefix + entry.name;
      if (entry.isDirectory()) {
        if (oneLevel) yield { key: `${key}/`, prefix: true };
        else yield* walk(join(dir, entry.name), `${key}/`, "", false);
      } else {
        // A stat is one system call on a local disk: made here, not through the thread pool,
        // whose round trip per file was most of a listing's time (see time-slice.ts).
        await yieldIfLong();
        const s = statFileSync(join(dir, entry.name));
        if (s !== undefined) yield { key, size: s.size, modified: s.mtime };
      }
    }
  }

  /**
   * The files walk() would list, with their paths, as one array: what the tree copies need,
   * without a generator step, a Date and a listing row per file (a cold listing of 2,000
   * files took 43–68 ms through walk(), 27–39 ms like this).
   */
  async function filesUnder(dir: string, keyPrefix: string, namePrefix: string, signal: AbortSignal | undefined, out: TreeSource[] = []): Promise<TreeSource[]> {
    for (const entry of await listedEntries(dir, namePrefix)) {
      if (signal?.aborted) throw abortedError(signal, keyPrefix);
      const key = keyPrefix + entry.name;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await filesUnder(path, `${key}/`, "", signal, out);
      else {
        const turn = yieldIfLong();
        if (turn !== undefined) await turn;
        const s = statFileSync(path);
        if (s !== undefined) out.push({ key, path, size: s.size });
      }
    }
    return out;
  }

  /** Where the listing of `prefix` starts: its directory, key prefix and first-level name prefix. */
  function listStart(prefix: string): [dir: string, keyPrefix: string, namePrefix: string] {
    const slash = prefix.lastIndexOf("/");
    const keyPrefix = prefix.slice(0, slash + 1);
    return [keyPrefix === "" ? root : pathOf(keyPrefix.slice(0, -1)), keyPrefix, prefix.slice(slash + 1)];
  }

  /** A missing file as NotFound for `key`; any other error as it is. */
  function notFoundOr(error: unknown, key: string): unknown {
    return isMissing(error) ? new StorageError("NotFound", `no object '${key}' in file://${root}`, { key, cause: error }) : error;
  }

  async function openForRead(key: string): Promise<import("node:fs/promises").FileHandle> {
    return open(pathOf(key), "r").catch((error: unknown) => {
      throw notFoundOr(error, key);
    });
  }

  return {
    capabilities: {
      rangeRead: true,
      serverSideCopy: true,
      presign: false,
      multipart: false,
      listDelimiter: true,
      storedSha256: false,
      maxObjectSize: Number.MAX_SAFE_INTEGER,
    },

    stat: statPath,

    list: (prefix, { delimiter }) => walk(...listStart(prefix), delimiter === "/"),

    async read(key, range) {
      if (range === undefined) {
        return readWhole(pathOf(key)).catch((error: unknown) => {
          throw notFoundOr(error, key);
        });
      }
      const handle = await openForRead(key);
      try {
        const { size } = await handle.stat();
        const start = Math.min(range.offset, size);
        const length = Math.min(range.length ?? size - start, size - start);
        const buffer = Buffer.alloc(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(buffer, done, length - done, start + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return buffer.subarray(0, done);
      } finally {
        await handle.close();
      }
    },

    async readToFile(key, path) {
      await yieldIfLong();
      const from = pathOf(key);
      // A partial file left by an interrupted attempt is replaced, not resumed. A missing
      // source (also one deleted between the stat and the copy) is NotFound.
      try {
        if (statSync(from).size <= SYNC_FILE_BYTES) {
          copySmallFile(from, path, "EEXIST", () => rmSync(path, { force: true }));
          return statSync(path).size;
        }
        await copyToNewFile(from, path).catch(async (error: unknown) => {
          if ((error as { code?: string }).code !== "EEXIST") throw error;
          await rm(path, { force: true });
          await copyToNewFile(from, path);
        });
        return (await stat(path)).size;
      } catch (error) {
        throw notFoundOr(error, key);
      }
    },

    async readStream(key, range: ByteRange | undefined, signal) {
      const handle = await openForRead(key);
      const { size } = await handle.stat();
      const start = Math.min(range?.offset ?? 0, size);
      const end = range?.length === undefined ? size : Math.min(size, start + range.length);
      if (end <= start) {
        await handle.close();
        return bytesStream(new Uint8Array(0));
      }
      return webFromNode(createReadStream("", { fd: handle, start, end: end - 1, signal, highWaterMark: 1 << 20 }));
    },

    async write(key, source, { signal }) {
      if (source.kind === "file" && source.size <= SYNC_FILE_BYTES && options.fsync !== true) {
        await yieldIfLong();
        return writeSmallFile(key, source.path, source.size, signal);
      }
      const path = pathOf(key);
      await ensureDir(dirname(path));
      const temp = tempPathFor(path);
      try {
        await writeTemp(temp, source, signal).catch(async (error: unknown) => {
          // The directory was known but has gone since (a delete pruned it): make it again once.
          if ((error as { code?: string }).code !== "ENOENT") throw error;
          madeDirs.delete(dirname(path));
          await ensureDir(dirname(path));
          await writeTemp(temp, source, signal);
        });
        if (signal?.aborted) throw abortedError(signal, key);
        await rename(temp, path);
      } catch (error) {
        if (!isTaken(error)) await rm(temp, { force: true });
        throw error;
      }
      // Bytes and files have a known size; only a stream needs a stat to learn it.
      if (source.kind !== "stream") return { key, size: source.size, modified: new Date() };
      const s = await stat(path);
      return { key, size: s.size, modified: s.mtime };
    },

    async delete(key) {
      const path = pathOf(key);
      try {
        await unlink(path);
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      await pruneEmptyParents(path);
    },

    async downloadDir(prefix, localDir, dirOptions) {
      const dest = resolve(localDir);
      const files = (await filesUnder(...listStart(prefix), dirOptions.signal)).map(({ key, path, size }): TreeFile => {
        // Checked as the generic transfer checks a listing's keys: a name that is no valid
        // key is refused, not copied.
        const rel = relativeKey(checkKey(key), prefix);
        return { key, rel, from: path, to: join(dest, ...rel.split("/")), size };
      });
      return copyTree(files, { ...dirOptions, fresh: !existsSync(dest) });
    },

    // With fsync on, uploads take the generic path, whose writes sync each file.
    ...(options.fsync === true
      ? {}
      : {
          async uploadDir(localDir: string, prefix: string, dirOptions: DirTransferOptions): Promise<DirTransferResult> {
            const files = (await walkLocalTree(localDir, dirOptions.signal)).map((f): TreeFile => {
              const key = checkKey(prefix + f.rel);
              return { key, rel: f.rel, from: f.path, to: pathOf(key), size: f.size };
            });
            // `prefix` is "" or ends in "/" (dirPrefix): its directory, or the root.
            return copyTree(files, { ...dirOptions, fresh: !existsSync(prefix === "" ? root : pathOf(prefix.slice(0, -1))) });
          },
        }),

    async copy(fromKey, toKey, signal) {
      const from = pathOf(fromKey);
      const to = pathOf(toKey);
      if ((await statPath(fromKey)) === undefined) throw new StorageError("NotFound", `no object '${fromKey}' in file://${root}`, { key: fromKey });
      await mkdir(dirname(to), { recursive: true });
      const temp = tempPathFor(to);
      try {
        await copyToNewFile(from, temp);
        if (signal?.aborted) throw abortedError(signal, toKey);
        await rename(temp, to);
      } catch (error) {
        if (!isTaken(error)) await rm(temp, { force: true });
        throw error;
      }
      const s = await stat(to);
      return { key: toKey, size: s.size, modified: s.mtime };
    },
  };
}

/**
 * fs.readFile with a callback: a third to a fifth of the CPU of fs/promises' readFile for
 * small files (no FileHandle, fewer promise hops), which matters when a server reads
 * thousands of them a second (the dataset hub).
 */
function readWhole(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => readFileCallback(path, (error, data) => (error ? reject(error) : resolve(data))));
}
