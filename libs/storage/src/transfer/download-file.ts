import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { StorageError } from "../errors.ts";
import { checksumMismatch, toNodeReadable } from "../streams.ts";
import type { ObjectInfo, Storage } from "../types.ts";
import { withRetry, type RetryOptions } from "./retry.ts";

export interface DownloadFileOptions extends Omit<RetryOptions, "onRetry"> {
  /** Expected hex sha256. Default: the one the backend stored, if any. */
  sha256?: string;
  /** Expected size. Default: the object's size from stat. */
  size?: number;
  /** Called with bytes newly received (deltas). */
  onBytes?: (delta: number) => void;
  /** The object's stat, when the caller already has it (saves a request). */
  info?: ObjectInfo;
}

export interface DownloadFileResult {
  size: number;
  sha256: string;
  /** Bytes that were already on disk from an earlier, interrupted attempt. */
  resumedFrom: number;
}

/**
 * Downloads one object to a local file, atomically and verified: bytes go to a hidden
 * ".drover-partial" file beside the target, whose name includes the object's identity
 * (etag, size); the sha256 and size are checked; only then is it renamed into place. A
 * retryable failure resumes from the partial file with a range read where the backend has
 * ranges, also across calls (a killed worker's next attempt picks up where it stopped).
 * A mismatch or a final failure removes the partial file: no bad copy is left behind.
 */
export async function downloadFile(storage: Storage, key: string, localPath: string, options: DownloadFileOptions = {}): Promise<DownloadFileResult> {
  const { signal } = options;
  const info = options.info ?? (await storage.stat(key, { signal }));
  const expectedSize = options.size ?? info.size;
  const expectedSha = (options.sha256 ?? info.sha256)?.toLowerCase();
  const identity = createHash("sha256").update(`${info.etag ?? ""}|${info.size}|${info.modified?.getTime() ?? ""}`).digest("hex").slice(0, 12);
  const partial = join(dirname(localPath), `.${basename(localPath).slice(0, 100)}.${identity}.drover-partial`);
  await mkdir(dirname(localPath), { recursive: true });

  let resumedFrom = -1;
  // The hash runs as bytes arrive. After an interruption it is rebuilt from the partial
  // file only if it no longer matches what is on disk (a chunk hashed but not written).
  let hash = createHash("sha256");
  let hashed = 0;
  try {
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
      if (have === expectedSize && expectedSize > 0) return;
      const stream = await storage.readStream(key, { signal, range: have > 0 ? { offset: have } : undefined });
      const hasher = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          hashed += chunk.length;
          options.onBytes?.(chunk.length);
          done(null, chunk);
        },
      });
      await pipeline(toNodeReadable(stream, signal), hasher, createWriteStream(partial, { flags: have > 0 ? "a" : "w" }), { signal });
    }, options);

    const size = hashed;
    const sha256 = hash.digest("hex");
    if (size !== expectedSize) throw checksumMismatch(`${size} bytes arrived, expected ${expectedSize}`, key);
    if (expectedSha !== undefined && sha256 !== expectedSha) throw checksumMismatch(`sha256 ${sha256}, expected ${expectedSha}`, key);
    await rename(partial, localPath);
    return { size, sha256, resumedFrom: Math.max(0, resumedFrom) };
  } catch (error) {
    // Keep the partial file only for a resume after a kill; any failure we see ends here.
    await rm(partial, { force: true });
    if (error instanceof StorageError) throw error;
    throw signal?.aborted ? new StorageError("Aborted", `download of '${key}' aborted`, { key, cause: error }) : error;
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
