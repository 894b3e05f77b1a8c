// Opens a shard for streaming: an http(s) URL through fetch, anything else through
// @drover/storage. Only failures a retry cannot fix become NonRetryableError.
import { isStorageError, openStorage } from "@drover/storage";
import { NonRetryableError } from "../errors.ts";
import { splitObjectUrl } from "./object-url.ts";

export interface ShardSource {
  body: AsyncIterable<Uint8Array>;
  /** Compressed size in bytes, when the server or the storage says. */
  size?: number;
  close(): Promise<void>;
}

/** Storage errors that the same request would hit again. */
const FINAL_STORAGE_KINDS = new Set(["NotFound", "PermissionDenied", "ConfigInvalid", "InvalidKey", "Unsupported"]);

export async function openShard(url: string, signal: AbortSignal): Promise<ShardSource> {
  if (/^https?:\/\//i.test(url)) return openHttp(url, signal);
  let parts: { root: string; key: string };
  try {
    parts = splitObjectUrl(url);
  } catch (error) {
    throw new NonRetryableError(`shard '${url}': ${(error as Error).message}`, { code: "SHARD_URL_INVALID", cause: error });
  }
  try {
    const storage = await openStorage(parts.root);
    try {
      const { stream, info } = await storage.openRead(parts.key, { signal });
      return { body: stream, size: info.size, close: () => storage.close() };
    } catch (error) {
      await storage.close();
      throw error;
    }
  } catch (error) {
    if (isStorageError(error) && FINAL_STORAGE_KINDS.has(error.kind)) {
      throw new NonRetryableError(`shard '${url}': ${error.message}`, { code: `SHARD_${error.kind.toUpperCase()}`, cause: error });
    }
    throw error;
  }
}

async function openHttp(url: string, signal: AbortSignal): Promise<ShardSource> {
  const response = await fetch(url, { signal, redirect: "follow" });
  if (!response.ok || response.body === null) {
    await response.body?.cancel().catch(() => {});
    const message = `shard '${url}': HTTP ${response.status} ${response.statusText}`.trim();
    // 4xx (but 408 timeout and 429 rate limit) will not change on a retry; 5xx may.
    if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
      throw new NonRetryableError(message, { code: `HTTP_${response.status}` });
    }
    throw new Error(message);
  }
  const length = Number(response.headers.get("content-length"));
  // A Content-Encoding other than identity means the length is not the file's.
  const encoded = (response.headers.get("content-encoding") ?? "identity") !== "identity";
  const body = response.body as ReadableStream<Uint8Array>;
  return {
    body,
    ...(Number.isFinite(length) && length > 0 && !encoded ? { size: length } : {}),
    close: async () => {
      await body.cancel().catch(() => {});
    },
  };
}
