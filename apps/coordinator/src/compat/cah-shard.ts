// Serves a crawl.wat job's shard to the old client, whose downloadShard can only GET http(s):
// the bytes stream from wherever @drover/storage reaches (file, s3, gs, rsync) through the
// coordinator, never buffered whole. One simple byte range is honoured when the backend can.
import { isStorageError, openStorage, type ByteRange, type Storage } from "@drover/storage";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import { CahError } from "./cah-input.ts";
import { splitObjectUrl } from "./cah-jobs.ts";

/** Streams the object at `shardUrl` as the reply. */
export async function sendShard(request: FastifyRequest, reply: FastifyReply, shardUrl: string): Promise<void> {
  const where = splitObjectUrl(shardUrl);
  if (where === undefined) throw new CahError(404, "this job's shard URL names no object");
  // Stop reading from storage when the client goes away mid-download.
  const abort = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  let storage: Storage | undefined;
  let streaming = false;
  try {
    storage = await openStorage(where.root);
    const info = await storage.stat(where.key, { signal: abort.signal });
    const range = storage.capabilities.rangeRead ? parseRange(request.headers.range, info.size) : undefined;
    reply.header("content-type", "application/octet-stream");
    if (storage.capabilities.rangeRead) reply.header("accept-ranges", "bytes");
    if (range === "unsatisfiable") {
      return void reply.status(416).header("content-range", `bytes */${info.size}`).type("text/plain; charset=utf-8").send("range not satisfiable");
    }
    const length = range === undefined ? info.size : range.length!;
    reply.header("content-length", length);
    if (range !== undefined) reply.status(206).header("content-range", `bytes ${range.offset}-${range.offset + length - 1}/${info.size}`);
    if (request.method === "HEAD" || length === 0) return void reply.send();
    const web = await storage.readStream(where.key, { signal: abort.signal, ...(range === undefined ? {} : { range }) });
    const body = Readable.fromWeb(web as unknown as NodeWebStream<Uint8Array>);
    const opened = storage;
    body.on("close", () => void opened.close().catch(() => {}));
    streaming = true;
    return void reply.send(body);
  } catch (error) {
    if (!isStorageError(error)) throw error;
    request.log.warn({ err: error, jobUrl: request.url }, "Crawling@Home shard read failed");
    if (error.kind === "NotFound") throw new CahError(404, "the shard is not in storage");
    throw new CahError(error.retryable ? 503 : 502, `the shard could not be read from storage (${error.kind})`);
  } finally {
    if (!streaming) await storage?.close().catch(() => {});
  }
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
