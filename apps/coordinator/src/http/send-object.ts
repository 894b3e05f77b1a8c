// Streams a storage object as an HTTP reply: from whichever backend holds it, never
// buffered whole, with one byte range when the backend reads ranges, and stopping the
// storage read when the client goes away. Used by the dataset hub, the DSX Hub API and the
// Crawling@Home shard route.
import { toNodeReadable, type ByteRange, type Storage } from "@drover/storage";
import type { FastifyReply, FastifyRequest } from "fastify";

export interface SendObjectOptions {
  /** A strong validator (quoted): answers If-None-Match with 304 and guards If-Range. */
  etag?: string;
  contentType?: string;
  cacheControl?: string;
  /** The object's size when the caller knows it (a manifest): saves a stat. */
  size?: number;
}

/**
 * Sends `key` of `source`: a storage (which the caller keeps open until the reply closes:
 * see `releaseOnClose`), or the object's bytes already in hand. Storage errors before the
 * first byte are thrown to the caller, to map onto its API's statuses; after that, the
 * connection is cut.
 */
export async function sendObject(request: FastifyRequest, reply: FastifyReply, source: Storage | Buffer, key: string, options: SendObjectOptions = {}): Promise<void> {
  const inHand = Buffer.isBuffer(source) ? source : undefined;
  const storage = inHand === undefined ? (source as Storage) : undefined;
  if (options.etag !== undefined) {
    reply.header("etag", options.etag);
    if (etagMatches(request.headers["if-none-match"], options.etag)) return void reply.status(304).send();
  }
  if (options.cacheControl) reply.header("cache-control", options.cacheControl);
  reply.header("content-type", options.contentType ?? "application/octet-stream");
  const canRange = storage === undefined || storage.capabilities.rangeRead;
  if (canRange) reply.header("accept-ranges", "bytes");
  // If-Range with another validator: the client's partial copy is stale, send it all.
  const ifRange = request.headers["if-range"];
  const rangeHeader = ifRange !== undefined && ifRange !== options.etag ? undefined : request.headers.range;
  const size = inHand?.length ?? options.size ?? (await storage!.stat(key)).size;
  const range = canRange ? parseRange(rangeHeader, size) : undefined;
  if (range === "unsatisfiable") {
    return void reply.status(416).header("content-range", `bytes */${size}`).type("text/plain; charset=utf-8").send("range not satisfiable");
  }
  const length = range === undefined ? size : range.length!;
  reply.header("content-length", length);
  if (range !== undefined) reply.status(206).header("content-range", `bytes ${range.offset}-${range.offset + length - 1}/${size}`);
  if (request.method === "HEAD") {
    // Fastify would answer an empty send with Content-Length: 0; HEAD must carry the GET's.
    reply.hijack();
    reply.raw.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string | number | string[]>);
    return void reply.raw.end();
  }
  if (length === 0) return void reply.send();
  if (inHand !== undefined) return void reply.send(range === undefined ? inHand : inHand.subarray(range.offset, range.offset + length));
  // Stop reading from storage when the client goes away mid-transfer.
  const abort = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  const rangeOption = range === undefined ? {} : { range };
  if (length <= SMALL_OBJECT_BYTES) {
    // Small objects in one read: a stream per file costs more than the file.
    const bytes = await storage!.read(key, { signal: abort.signal, ...rangeOption });
    if (bytes.length !== length) throw new ObjectChangedError(key, length, bytes.length);
    return void reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  const web = await storage!.readStream(key, { signal: abort.signal, ...rangeOption });
  return void reply.send(toNodeReadable(web));
}

/** Objects up to this size are read whole and sent as one buffer. */
const SMALL_OBJECT_BYTES = 256 * 1024;

/** The object's size is not the one the caller gave (a stale manifest): nothing was sent. */
export class ObjectChangedError extends Error {
  override readonly name = "ObjectChangedError";
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`'${key}' has ${actual} bytes where ${expected} were expected`);
  }
}

/** Before an error answer: drops the headers sendObject set for the object. */
export function clearObjectHeaders(reply: FastifyReply): void {
  for (const h of ["etag", "content-type", "content-length", "content-range", "accept-ranges", "cache-control"]) reply.removeHeader(h);
}

/** Releases a pooled storage once the reply is over, however it ended. */
export function releaseOnClose(reply: FastifyReply, release: () => void): void {
  if (reply.raw.destroyed || reply.raw.writableFinished) return release();
  reply.raw.once("close", release);
}

/** If-None-Match: `*`, or a list of (possibly weak) entity tags, one equal to `etag`. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/**
 * One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; undefined (send it all) for no header or
 * one this does not handle, such as several ranges — ignoring Range is always allowed.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  const m = header === undefined ? null : /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Math.min(Number(m[2]), size);
    return suffix === 0 ? "unsatisfiable" : { offset: size - suffix, length: suffix };
  }
  const start = Number(m[1]);
  if (m[2] !== "" && Number(m[2]) < start) return undefined; // not a valid range: ignored
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return "unsatisfiable";
  return { offset: start, length: end - start + 1 };
}
