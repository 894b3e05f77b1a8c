import { Storage, type File, type FileMetadata } from "@google-cloud/storage";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { Readable, addAbortSignal } from "node:stream";
import type { Driver, WriteSource } from "../driver.ts";
import { StorageError, abortedError, throwIfAborted } from "../errors.ts";
import { compareKeys } from "../keys.ts";
import type { GcsOptions } from "../options.ts";
import { bytesStream, collect, sha256Hex, toNodeReadable } from "../streams.ts";
import type { ByteRange, ListEntry, ObjectInfo } from "../types.ts";
import { eachLimit } from "../limit.ts";
import { withRetry } from "../transfer/retry.ts";
import { readHead, sliceStream, untilAborted, unquote } from "./cloud-helpers.ts";
import { gcsStatus, mapGcsError } from "./gcs-errors.ts";
import { resumableUpload } from "./gcs-upload.ts";

/**
 * Google Cloud Storage. Writes up to SIMPLE_UPLOAD_MAX bytes are one multipart/related
 * request (file.save); larger ones and long streams a single-request resumable upload, which
 * GCS only turns into an object when the stream ends. The sha256 travels as custom metadata
 * (metadata.sha256) whenever it is known before the upload starts, and comes back from
 * stat() and list().
 *
 * An apiEndpoint is taken to be an emulator: requests to it carry no credentials (the SDK's
 * own default, made explicit), so the client never looks for any and never probes the GCE
 * metadata server.
 */
export interface GcsDriverOptions extends GcsOptions {
  bucket: string;
  /** "" or "a/b/": prefixed onto every key. */
  root: string;
}

const MIB = 1024 * 1024;
/** Above this, uploads are resumable (a session, then one streaming PUT). */
const SIMPLE_UPLOAD_MAX = 8 * MIB;
const DELETE_CONCURRENCY = 16;

/**
 * Resolves `promise`, or rejects as soon as `signal` fires. The SDK takes no signals, so
 * its call runs on: only for reads, where nothing changes whether or not it finishes.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, key?: string): Promise<T> {
  if (signal === undefined) return promise;
  throwIfAborted(signal, key);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal, key));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

export async function gcsDriver(options: GcsDriverOptions): Promise<Driver> {
  const { root } = options;
  const storage = new Storage({
    apiEndpoint: options.apiEndpoint,
    projectId: options.projectId,
    keyFilename: options.keyFilename,
    useAuthWithCustomEndpoint: false,
  });
  const bucket = storage.bucket(options.bucket);
  const where = `gs://${options.bucket}/${root}`;
  // Signing needs a private key (or IAM signBlob with real credentials). Without a key file
  // the SDK would go looking for credentials, and on an emulator there are none.
  const canSign = options.keyFilename !== undefined || (process.env["GOOGLE_APPLICATION_CREDENTIALS"] ?? "") !== "";

  const fileOf = (key: string): File => bucket.file(root + key);

  /**
   * A delete, tried again after a retryable failure. The SDK retries a DELETE only when it
   * carries a generation precondition (its RetryConditional strategy); ours ignore NotFound,
   * so a repeat is harmless, except that one racing a writer of the same key may delete its
   * new object (as S3's SDK, which retries every call, may too). Seen in the benchmark: a
   * kept-alive connection the server had just closed (ECONNRESET, "socket hang up") failed a
   * deletePrefix. An abort during the backoff reports Aborted, though the delete may have
   * happened.
   */
  const deleteObject = (key: string, signal: AbortSignal | undefined): Promise<void> =>
    withRetry(
      async () => {
        try {
          await fileOf(key).delete({ ignoreNotFound: true });
        } catch (error) {
          throw mapGcsError(error, key, where) ?? error;
        }
      },
      { signal },
    );
  const notFound = (key: string): StorageError => new StorageError("NotFound", `no object '${key}' in ${where}`, { key });

  function info(key: string, md: FileMetadata): ObjectInfo {
    const sha256 = md.metadata?.["sha256"];
    return {
      key,
      size: Number(md.size ?? 0),
      modified: md.updated === undefined ? undefined : new Date(md.updated),
      etag: unquote(md.etag),
      sha256: typeof sha256 === "string" ? sha256 : undefined,
      contentType: md.contentType,
    };
  }

  async function stat(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    try {
      const [md] = await abortable(fileOf(key).getMetadata(), signal, key);
      return info(key, md);
    } catch (error) {
      if (gcsStatus(error) === 404 && !isBucketError(error)) return undefined;
      throw error;
    }
  }

  /** start/end (inclusive) for the SDK, or "empty" when nothing is to be read. */
  function rangeOf(range: ByteRange | undefined): { start?: number; end?: number } | "empty" {
    if (range === undefined || (range.offset === 0 && range.length === undefined)) return {};
    if (range.length === 0) return "empty";
    return { start: range.offset, end: range.length === undefined ? undefined : range.offset + range.length - 1 };
  }

  /** A range that starts at or after the end is empty (GCS answers 416); the object must exist. */
  async function emptyRead(key: string, signal?: AbortSignal): Promise<Uint8Array> {
    if ((await stat(key, signal)) === undefined) throw notFound(key);
    return new Uint8Array(0);
  }

  /**
   * A download stream, returned once GCS has answered, so that a missing key throws here
   * (as the Driver contract says) rather than from the stream later.
   */
  async function open(key: string, range: ByteRange | undefined, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const r = rangeOf(range);
    if (r === "empty") return bytesStream(await emptyRead(key, signal));
    const node = fileOf(key).createReadStream(r.start === undefined ? {} : { ...r, validation: false });
    if (signal !== undefined) addAbortSignal(signal, node);
    const web = Readable.toWeb(node) as ReadableStream<Uint8Array>; // starts the request
    let status: number;
    try {
      status = await new Promise<number>((resolve, reject) => {
        node.once("error", reject);
        node.once("response", (res: { statusCode?: number }) => {
          if ((res.statusCode ?? 500) < 400) resolve(res.statusCode ?? 200); // else the error follows
        });
      });
    } catch (error) {
      await web.cancel().catch(() => undefined);
      if (gcsStatus(error) === 416) return bytesStream(await emptyRead(key, signal));
      throw error;
    }
    // 200 to a ranged request: the server sent the whole object (allowed by HTTP).
    if (r.start !== undefined && status === 200 && range !== undefined) return sliceStream(web, range.offset, range.length);
    return web;
  }

  async function simpleUpload(key: string, data: Uint8Array, sha256: string | undefined, contentType: string | undefined): Promise<ObjectInfo> {
    const file = fileOf(key);
    // One request of at most SIMPLE_UPLOAD_MAX bytes: it is not interrupted by an abort (a
    // destroyed multipart/related body would leave the request hanging), it just finishes.
    await file.save(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
      resumable: false,
      validation: "crc32c",
      metadata: { contentType, metadata: sha256 === undefined ? undefined : { sha256 } },
    });
    return info(key, file.metadata);
  }

  async function write(key: string, source: WriteSource, contentType: string | undefined, signal?: AbortSignal): Promise<ObjectInfo> {
    const upload = (body: Readable, size: number | undefined, sha256: string | undefined): Promise<ObjectInfo> =>
      resumableUpload(fileOf(key), body, { size, sha256, contentType, signal, apiEndpoint: storage.apiEndpoint }).then((md) => info(key, md));
    switch (source.kind) {
      case "bytes":
        if (source.size <= SIMPLE_UPLOAD_MAX) return simpleUpload(key, source.data, source.sha256, contentType);
        return upload(Readable.from([source.data]), source.size, source.sha256);
      case "file":
        if (source.size <= SIMPLE_UPLOAD_MAX) {
          const data = await readFile(source.path, { signal });
          return simpleUpload(key, data, source.sha256 ?? sha256Hex(data), contentType);
        }
        return upload(createReadStream(source.path, { signal, highWaterMark: MIB }), source.size, source.sha256);
      case "stream": {
        const head = await readHead(untilAborted(source.stream, signal), SIMPLE_UPLOAD_MAX);
        if (head.complete) return simpleUpload(key, head.data, source.sha256 ?? sha256Hex(head.data), contentType);
        return upload(toNodeReadable(head.stream), source.size, source.sha256);
      }
    }
  }

  return {
    capabilities: {
      rangeRead: true,
      serverSideCopy: true,
      presign: canSign,
      multipart: true,
      listDelimiter: true,
      storedSha256: true,
      maxObjectSize: 5 * 1024 ** 4,
    },

    stat,

    async *list(prefix, { delimiter, pageSize, signal }): AsyncGenerator<ListEntry> {
      let pageToken: string | undefined;
      // A prefix whose objects span two pages may come back on both; say it once.
      let lastPrefix: string | undefined;
      do {
        const [files, , response] = await abortable(
          bucket.getFiles({ prefix: root + prefix, delimiter, maxResults: pageSize ?? 1000, autoPaginate: false, pageToken }),
          signal,
        );
        const page = (response ?? {}) as { prefixes?: string[]; nextPageToken?: string };
        const entries: ListEntry[] = [];
        for (const file of files) {
          if (file.name.endsWith("/")) continue; // "dir/" placeholders name no object
          entries.push(info(file.name.slice(root.length), file.metadata));
        }
        for (const p of page.prefixes ?? []) {
          if (p !== lastPrefix) entries.push({ key: p.slice(root.length), prefix: true });
          lastPrefix = p;
        }
        entries.sort((a, b) => compareKeys(a.key, b.key));
        yield* entries;
        pageToken = page.nextPageToken === "" ? undefined : page.nextPageToken;
      } while (pageToken !== undefined);
    },

    async read(key, range, signal) {
      return collect(await open(key, range, signal));
    },

    readStream: open,

    write: (key, source, { contentType, signal }) => write(key, source, contentType, signal),

    // Deletes and copies are not raced against the signal: the server may finish them
    // anyway, and reporting Aborted for a change that happened would mislead.
    async delete(key, signal) {
      throwIfAborted(signal, key);
      await deleteObject(key, signal);
    },

    async deleteMany(keys, signal) {
      await eachLimit(keys, DELETE_CONCURRENCY, async (key) => {
        throwIfAborted(signal, key);
        await deleteObject(key, signal);
      });
    },

    async copy(fromKey, toKey, signal) {
      // copy() follows rewrite tokens itself, so objects of any size stay on the server.
      throwIfAborted(signal, fromKey);
      await fileOf(fromKey).copy(fileOf(toKey));
      const copied = await stat(toKey);
      if (copied === undefined) throw notFound(toKey);
      return copied;
    },

    async presign(key, { method, expiresIn }) {
      const [url] = await fileOf(key).getSignedUrl({
        version: "v4",
        action: method === "GET" ? "read" : "write",
        expires: Date.now() + expiresIn * 1000,
      });
      return url;
    },

    mapError: (error, key) => mapGcsError(error, key, where),

    async close() {
      // The SDK keeps no sockets open beyond its HTTP agents' keep-alive; nothing to release.
    },
  };
}

/** A 404 about the bucket rather than the object ("The specified bucket does not exist."). */
function isBucketError(error: unknown): boolean {
  const message = (error as { message?: string }).message ?? "";
  return /bucket does not exist/i.test(message);
}
