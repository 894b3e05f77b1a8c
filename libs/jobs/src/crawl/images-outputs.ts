// Moving crawl.images' input and outputs through @drover/storage: fetch the pairs file
// named by a URL, and upload the finished outputs with their size and sha256.
import { join } from "node:path";
import { downloadFile, hashFile, isStorageError, openStorage, withRetry } from "@drover/storage";
import { NonRetryableError } from "../errors.ts";
import type { ImagesArtifact } from "./images.spec.ts";

/**
 * Splits an object URL into the storage URL of its folder and the key in it, keeping the
 * query (options such as `?endpoint=`) on the folder: `s3://b/run/x.parquet?region=r` →
 * `s3://b/run/?region=r` + `x.parquet`.
 */
export function splitObjectUrl(url: string): { root: string; key: string } {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? "" : url.slice(q);
  const slash = path.lastIndexOf("/");
  const key = path.slice(slash + 1);
  if (slash < 0 || key === "") throw new NonRetryableError(`not an object URL (no file name): ${url}`, { code: "PAYLOAD_INVALID" });
  return { root: `${path.slice(0, slash + 1)}${query}`, key };
}

/** The URL of `key` under the storage URL `root`, query kept at the end. */
export function joinObjectUrl(root: string, key: string): string {
  const q = root.indexOf("?");
  const path = q < 0 ? root : root.slice(0, q);
  const query = q < 0 ? "" : root.slice(q);
  return `${path.endsWith("/") ? path : `${path}/`}${key}${query}`;
}

/**
 * Downloads the object at `url` to `localPath` (verified against the stored sha256 where
 * the backend keeps one). A missing object or a bad URL will not get better with a retry.
 */
export async function fetchInput(url: string, localPath: string, signal: AbortSignal): Promise<void> {
  const { root, key } = splitObjectUrl(url);
  let storage;
  try {
    storage = await openStorage(root);
  } catch (error) {
    throw permanent(error, url) ?? error;
  }
  try {
    await downloadFile(storage, key, localPath, { signal });
  } catch (error) {
    throw permanent(error, url) ?? error;
  } finally {
    await storage.close();
  }
}

function permanent(error: unknown, url: string): NonRetryableError | undefined {
  if (!isStorageError(error) || !["NotFound", "ConfigInvalid", "InvalidKey", "PermissionDenied"].includes(error.kind)) return undefined;
  return new NonRetryableError(`input ${url}: ${error.message}`, { code: `INPUT_${error.kind.toUpperCase()}`, cause: error });
}

export interface UploadOutputsOptions {
  /** Storage URL of the destination root. */
  outputRoot: string;
  /** Key prefix under it, ending in "/" (e.g. "42/1/"). */
  prefix: string;
  /** Local directory holding the files. */
  dir: string;
  /** Uploaded first, a few at once, in any order. */
  files: readonly string[];
  /** Uploaded one by one after every file in `files`: a reader who sees these sees all. */
  last: readonly string[];
  signal: AbortSignal;
  concurrency?: number;
}

/**
 * Uploads finished outputs and returns them as artifacts (in `files` then `last` order).
 * Each write carries the sha256 computed here, so the backend refuses a corrupted upload,
 * and each is atomic; `last` goes up only once everything else is there.
 */
export async function uploadOutputs(options: UploadOutputsOptions): Promise<ImagesArtifact[]> {
  const { signal } = options;
  const storage = await openStorage(options.outputRoot);
  try {
    const upload = async (name: string): Promise<ImagesArtifact> => {
      const path = join(options.dir, name);
      const { size, sha256 } = await hashFile(path, signal);
      const key = options.prefix + name;
      await withRetry(() => storage.write(key, { file: path }, { size, sha256, signal, contentType: contentTypeOf(name) }), { signal });
      return { url: joinObjectUrl(options.outputRoot, key), size, sha256 };
    };
    const first = await mapLimit(options.files, options.concurrency ?? 4, upload);
    const rest: ImagesArtifact[] = [];
    for (const name of options.last) rest.push(await upload(name));
    return [...first, ...rest];
  } finally {
    await storage.close();
  }
}

function contentTypeOf(name: string): string {
  if (name.endsWith(".tar")) return "application/x-tar";
  if (name.endsWith(".json")) return "application/json";
  return "application/octet-stream";
}

/** Like Promise.all over `items.map(fn)`, at most `limit` at once, results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
