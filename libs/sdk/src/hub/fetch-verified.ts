import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { errorOf, HubError } from "./errors.ts";

export interface Expected {
  size: number;
  sha256: string;
}

/** Hashes what an interrupted download left, so the resumed bytes extend the same digest. */
async function hashExisting(path: string): Promise<{ hash: Hash; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return { hash, size };
}

/**
 * Downloads `url` to `target` through `partial`: an interrupted download keeps its partial
 * file and the next call resumes it with `Range` + `If-Range` (the sha256 ETag), a 200 to
 * that starts over. The bytes are hashed on the way; only a whole, matching file is renamed
 * into place, so the target is never partial or wrong. A mismatch removes the partial file.
 */
export async function fetchVerified(
  url: string,
  headers: Record<string, string>,
  partial: string,
  target: string,
  expected: Expected,
  options: { signal?: AbortSignal | undefined; onBytes?: ((delta: number) => void) | undefined } = {},
): Promise<{ resumedFrom: number }> {
  await mkdir(dirname(partial), { recursive: true });
  let { hash, size } = await hashExisting(partial);
  if (size > expected.size) {
    await rm(partial, { force: true });
    ({ hash, size } = { hash: createHash("sha256"), size: 0 });
  }
  const resumedFrom = size;
  if (size < expected.size || expected.size === 0) {
    const rangeHeaders: Record<string, string> = size > 0 ? { range: `bytes=${size}-`, "if-range": `"${expected.sha256}"` } : {};
    let res: Response;
    try {
      res = await fetch(url, { headers: { ...headers, ...rangeHeaders }, signal: options.signal ?? null });
    } catch (error) {
      throw new HubError("UNAVAILABLE", `GET ${url}: ${(error as Error).message}`, undefined, { cause: error });
    }
    if (!res.ok) throw await errorOf(res, `GET ${url}`);
    if (res.status !== 206 && size > 0) {
      // The server sent the whole file (another version, or no ranges): start over.
      hash = createHash("sha256");
      size = 0;
    }
    if (res.body) {
      // Each chunk is on disk before the next is read, so when the connection drops,
      // everything received so far is in the partial file for the next resume.
      const file = await open(partial, res.status === 206 ? "a" : "w");
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          await file.write(chunk);
          hash.update(chunk);
          size += chunk.length;
          options.onBytes?.(chunk.length);
        }
      } finally {
        await file.close();
      }
    }
  }
  const digest = hash.digest("hex");
  if (size !== expected.size || digest !== expected.sha256) {
    await rm(partial, { force: true });
    throw new HubError("CHECKSUM_MISMATCH", `${url}: got ${size} bytes with sha256 ${digest}, the manifest says ${expected.size} bytes with ${expected.sha256}`);
  }
  await mkdir(dirname(target), { recursive: true });
  await rename(partial, target);
  return { resumedFrom };
}

/** A cached file's identity: verified once, trusted until its size, time or inode change. */
export async function stampOf(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? `${s.size}:${s.mtimeMs}:${s.ino}` : undefined;
  } catch {
    return undefined;
  }
}
