import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream, renameSync, writeFile as writeFileCallback, writeFileSync } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { StorageError } from "../errors.ts";
import { hiddenSibling } from "../hidden-names.ts";
import { driverOf } from "../storage.ts";
import { checksumMismatch, collect, sha256Hex, toNodeReadable } from "../streams.ts";
import type { ObjectInfo, Storage } from "../types.ts";
import { SYNC_FILE_BYTES, yieldIfLong } from "../time-slice.ts";
import { withRetry, type RetryOptions } from "./retry.ts";

export interface DownloadFileOptions extends Omit<RetryOptions, "onRetry"> {
  /** Expected hex sha256. Default: the one the backend stored, if any. */
  sha256?: string;
  /** Expected size. Default: the object's size. */
  size?: number;
  /** Called with bytes newly received (deltas). */
  onBytes?: (delta: number) => void;
  /** The object's info when the caller has it (a listing row); saves a request. */
  info?: ObjectInfo;
}

/**
 * Objects up to this size are fetched whole, hashed in memory and written with one call.
 * Each filesystem call is a thread-pool round trip whose cost showed in profiles of many
 * small downloads (a stat for a partial file to resume, a write stream's open and close, a
 * stream pipeline); resuming an object this small saves nothing, so a retry starts over.
 */
const WHOLE_OBJECT_BYTES = 1 << 20;

/**
 * How much a large download may hold in memory while its file write is in flight. Network
 * chunks are 64 KiB; with this much room they gather while the disk is busy and go down in
 * one writev, rather than one thread-pool write each. Measured on 419 MB from s3rver, 8
 * rounds: 4 MiB took 11% less wall time and 12% less CPU than the default 16 KiB (1 MiB did
 * not differ from the default).
 */
const WRITE_BUFFER_BYTES = 4 << 20;

export interface DownloadFileResult {
  size: number;
  /** The sha256 of the bytes written; absent only for a plain local copy with nothing to verify. */
  sha256?: string;
  /** Bytes that were already on disk from an earlier, interrupted attempt. */
  resumedFrom: number;
}

type Opened = { stream: ReadableStream<Uint8Array>; info: ObjectInfo };

/**
 * Downloads one object to a local file, atomically and verified: bytes go to a hidden
 * ".drover-partial" file beside the target, whose name includes the object's identity
 * (etag, size), the size and sha256 are checked, and only then is it renamed into place.
 * A retryable failure resumes from the partial file with a range read where the backend has
 * ranges, also across calls (a killed worker's next attempt picks up where it stopped);
 * objects up to 1 MiB are fetched whole instead, and again from the start.
 * A mismatch or a final failure removes the partial file: no bad copy is left behind.
 */
export function downloadFile(storage: Storage, key: string, localPath: string, options: DownloadFileOptions = {}): Promise<DownloadFileResult> {
  return downloadFileInto(storage, key, localPath, options, false);
}

/**
 * downloadFile for directory transfers, which make each directory once (`parentExists`):
 * a mkdir per file is one more thread-pool round trip per small file.
 */
export async function downloadFileInto(storage: Storage, key: string, localPath: string, options: DownloadFileOptions, parentExists: boolean): Promise<DownloadFileResult> {
  const { signal } = options;
  // Without a sha256 in hand on a backend that stores one, open the object now: S3's GET
  // carries the stored sha256, so no separate HEAD is needed.
  let opened: Opened | undefined;
  let info = options.info;
  if (info === undefined || (info.sha256 === undefined && options.sha256 === undefined && storage.capabilities.storedSha256)) {
    opened = await storage.openRead(key, { signal });
    info = opened.info;
  }
  const expectedSize = options.size ?? info.size;
  const expectedSha = (options.sha256 ?? info.sha256)?.toLowerCase();
  const identity = createHash("sha256").update(`${info.etag ?? ""}|${info.size}|${info.modified?.getTime() ?? ""}`).digest("hex").slice(0, 12);
  const partial = hiddenSibling(localPath, `.${identity}.drover-partial`);
  if (!parentExists) await mkdir(dirname(localPath), { recursive: true });

  try {
    // Nothing to verify against and a backend that can copy the file itself: let it.
    const readToFile = driverOf(storage)?.readToFile;
    if (readToFile !== undefined && expectedSha === undefined) {
      const size = await withRetry(() => readToFile(key, partial, signal), options);
      signal?.throwIfAborted(); // an abort during the copy must not end in a rename
      if (size !== expectedSize) throw checksumMismatch(`${size} bytes arrived, expected ${expectedSize}`, key);
      options.onBytes?.(size);
      await moveIntoPlace(partial, localPath, size);
      return { size, resumedFrom: 0 };
    }

    const result =
      expectedSize <= WHOLE_OBJECT_BYTES ? await fetchWhole(storage, key, partial, expectedSize, opened, options) : await fetchToPartial(storage, key, partial, expectedSize, opened, options);
    if (result.size !== expectedSize) throw checksumMismatch(`${result.size} bytes arrived, expected ${expectedSize}`, key);
    if (expectedSha !== undefined && result.sha256 !== expectedSha) throw checksumMismatch(`sha256 ${result.sha256}, expected ${expectedSha}`, key);
    await moveIntoPlace(partial, localPath, result.size);
    return result;
  } catch (error) {
    // Keep the partial file only for a resume after a kill; any failure we see ends here.
    await opened?.stream.cancel().catch(() => undefined);
    await rm(partial, { force: true });
    if (error instanceof StorageError) throw error;
    throw signal?.aborted ? new StorageError("Aborted", `download of '${key}' aborted`, { key, cause: error }) : error;
  }
}

/**
 * Renames the verified partial file into place: for a small object with a synchronous call
 * (one metadata operation; the thread pool's round trip cost more, see time-slice.ts).
 */
async function moveIntoPlace(partial: string, localPath: string, size: number): Promise<void> {
  if (size > SYNC_FILE_BYTES) return rename(partial, localPath);
  await yieldIfLong();
  renameSync(partial, localPath);
}

/** Reads the whole (small) object, retrying from the start, and writes it to `partial` in one call. */
async function fetchWhole(storage: Storage, key: string, partial: string, expectedSize: number, opened: Opened | undefined, options: DownloadFileOptions): Promise<DownloadFileResult> {
  const { signal } = options;
  let first = opened;
  const bytes = await withRetry(async () => {
    const ready = first;
    first = undefined;
    // At most the listed size: the object may have been replaced by a bigger one since.
    return collect(ready?.stream ?? (await storage.readStream(key, { signal })), { bytes: expectedSize, key });
  }, options);
  signal?.throwIfAborted();
  options.onBytes?.(bytes.byteLength);
  if (bytes.byteLength <= SYNC_FILE_BYTES) {
    // One synchronous call: cheaper than the thread pool's round trip (see time-slice.ts).
    await yieldIfLong();
    writeFileSync(partial, bytes);
  } else {
    // The callback form: fs/promises' writeFile costs several times its CPU on small files.
    await new Promise<void>((resolve, reject) => writeFileCallback(partial, bytes, (error) => (error ? reject(error) : resolve())));
  }
  signal?.throwIfAborted(); // an abort during the write must not end in a rename
  return { size: bytes.byteLength, sha256: sha256Hex(bytes), resumedFrom: 0 };
}

/**
 * Streams the object into `partial`, hashing as bytes arrive, resuming with range reads.
 * After an interruption the hash is rebuilt from the partial file only if it no longer
 * matches what is on disk (a chunk hashed but not written).
 */
async function fetchToPartial(storage: Storage, key: string, partial: string, expectedSize: number, opened: Opened | undefined, options: DownloadFileOptions): Promise<DownloadFileResult> {
  const { signal } = options;
  let hash: Hash = createHash("sha256");
  let hashed = 0;
  let resumedFrom = -1;
  let first = opened;
  await withRetry(async () => {
    let have = storage.capabilities.rangeRead ? await sizeOf(partial) : 0;
    if (have > expectedSize) {
      await rm(partial, { force: true });
      have = 0;
    }
    if (resumedFrom < 0) resumedFrom = have;
    if (hashed !== have) {
      hash = createHash("sha256");
      hashed = 0;
      if (have > 0) {
        for await (const chunk of createReadStream(partial, { signal, end: have - 1 }) as AsyncIterable<Buffer>) {
          hash.update(chunk);
          hashed += chunk.length;
        }
      }
    }
    const ready = first;
    first = undefined;
    if (have === expectedSize && expectedSize > 0) {
      await ready?.stream.cancel();
      return;
    }
    let stream: ReadableStream<Uint8Array>;
    if (ready !== undefined && have === 0) stream = ready.stream;
    else {
      await ready?.stream.cancel();
      stream = await storage.readStream(key, { signal, range: have > 0 ? { offset: have } : undefined });
    }
    await appendHashed(toNodeReadable(stream, signal), partial, have > 0, (chunk) => {
      hash.update(chunk);
      hashed += chunk.length;
      options.onBytes?.(chunk.length);
    });
  }, options);
  return { size: hashed, sha256: hash.digest("hex"), resumedFrom: Math.max(0, resumedFrom) };
}

/**
 * Writes `source` to `path` (appending or from the start), calling `seen` on each chunk before
 * it is written. If the source fails, what already arrived is still written before the error
 * is passed on: with WRITE_BUFFER_BYTES of room, megabytes can be waiting for the disk at the
 * moment a connection drops, and a resume starts from what is on disk. A failing file
 * write is passed on as is.
 */
export async function appendHashed(source: Readable, path: string, append: boolean, seen: (chunk: Buffer) => void): Promise<void> {
  const file = createWriteStream(path, { flags: append ? "a" : "w", highWaterMark: WRITE_BUFFER_BYTES });
  // Set once the file fails. The source is destroyed too: the loop may be waiting for its
  // next chunk (most writes fit in the buffer, so there is no 'drain' to wait for), and a
  // stalled source would otherwise keep it waiting.
  let fileError: unknown;
  file.on("error", (error) => {
    fileError ??= error;
    source.destroy();
  });
  let sourceError: unknown;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (fileError !== undefined) break;
      seen(chunk);
      if (!file.write(chunk)) await once(file, "drain").catch(() => undefined);
    }
  } catch (error) {
    sourceError = error;
  }
  // Flushed and closed (or, after a file error, closed) before the caller renames or retries.
  if (!file.closed) {
    await new Promise<void>((resolve) => {
      file.once("close", () => resolve());
      if (fileError === undefined) file.end();
      else file.destroy();
    });
  }
  if (fileError !== undefined) throw fileError;
  if (sourceError !== undefined) throw sourceError;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
