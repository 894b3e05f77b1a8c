import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { StorageError, toStorageError } from "./errors.ts";

/** Hex sha256 of bytes already in memory. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Size and sha256 of a local file, read once as a stream. */
export async function hashFile(path: string, signal?: AbortSignal): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  try {
    for await (const chunk of createReadStream(path, { signal, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
  } catch (error) {
    throw toStorageError(error, path);
  }
  return { size, sha256: hash.digest("hex") };
}

export interface VerifyOptions {
  size?: number;
  sha256?: string;
  key?: string;
  onProgress?: (bytes: number) => void;
  /** Called with the totals when the stream ends and passed its checks. */
  onDone?: (result: { size: number; sha256: string }) => void;
}

/**
 * Passes a stream through while counting and hashing it. If the expected size or sha256
 * does not match, the stream errors *instead of ending*, so a consumer writing it out
 * never commits the bad object (the atomic-write rule needs exactly that order).
 */
export function verifying(stream: ReadableStream<Uint8Array>, options: VerifyOptions): ReadableStream<Uint8Array> {
  const hash = createHash("sha256");
  let size = 0;
  const transform = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.byteLength;
      if (options.size !== undefined && size > options.size) {
        controller.error(mismatch(`more than the expected ${options.size} bytes`, options.key));
        return;
      }
      hash.update(chunk);
      options.onProgress?.(size);
      controller.enqueue(chunk);
    },
    flush(controller) {
      const sha256 = hash.digest("hex");
      if (options.size !== undefined && size !== options.size) {
        controller.error(mismatch(`${size} bytes, expected ${options.size}`, options.key));
      } else if (options.sha256 !== undefined && sha256 !== options.sha256.toLowerCase()) {
        controller.error(mismatch(`sha256 ${sha256}, expected ${options.sha256}`, options.key));
      } else {
        options.onDone?.({ size, sha256 });
      }
    },
  });
  return stream.pipeThrough(transform);
}

function mismatch(what: string, key: string | undefined): StorageError {
  return new StorageError("ChecksumMismatch", `content mismatch${key === undefined ? "" : ` for '${key}'`}: ${what}`, { key });
}

export function checksumMismatch(what: string, key?: string): StorageError {
  return mismatch(what, key);
}

/**
 * Reads a web stream to the end into one buffer. With `limit`, more than `limit.bytes` is a
 * ChecksumMismatch and the stream is cancelled: what arrives must not all end up in memory.
 */
export async function collect(stream: ReadableStream<Uint8Array>, limit?: { bytes: number; key: string }): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.byteLength;
    // Leaving the loop cancels the stream.
    if (limit !== undefined && total > limit.bytes) throw mismatch(`more than the expected ${limit.bytes} bytes arrived`, limit.key);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** A web stream over a local file (or part of it). */
export function fileStream(path: string, range?: { offset: number; length?: number }, signal?: AbortSignal): ReadableStream<Uint8Array> {
  const end = range?.length === undefined ? undefined : range.offset + range.length - 1;
  const node = createReadStream(path, { start: range?.offset, end, signal, highWaterMark: 1 << 20 });
  return Readable.toWeb(node) as ReadableStream<Uint8Array>;
}

/** A Node Readable over a web stream, for SDKs that want one. */
export function toNodeReadable(stream: ReadableStream<Uint8Array>, signal?: AbortSignal): Readable {
  return Readable.fromWeb(stream as import("node:stream/web").ReadableStream<Uint8Array>, { signal });
}

/** A web stream over bytes already in memory. */
export function bytesStream(data: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      if (data.byteLength > 0) controller.enqueue(data);
      controller.close();
    },
  });
}
