// Serves a crawl.wat job's shard to the old client, whose downloadShard can only GET http(s):
// the bytes stream from wherever @drover/storage reaches (file, s3, gs, rsync) through the
// coordinator, never buffered whole. One simple byte range is honoured when the backend can.
import { isStorageError, StoragePool } from "@drover/storage";
import type { FastifyReply, FastifyRequest } from "fastify";
import { releaseOnClose, sendObject } from "../http/send-object.ts";

/** Shard storages by root: many clients pulling shards from one bucket share a client. */
const pool = new StoragePool();
import { CahError } from "./cah-input.ts";
import { splitObjectUrl } from "./cah-jobs.ts";

/** Streams the object at `shardUrl` as the reply. */
export async function sendShard(request: FastifyRequest, reply: FastifyReply, shardUrl: string): Promise<void> {
  const where = splitObjectUrl(shardUrl);
  if (where === undefined) throw new CahError(404, "this job's shard URL names no object");
  const { storage, release } = pool.acquire(where.root);
  releaseOnClose(reply, release);
  try {
    await sendObject(request, reply, await storage, where.key);
  } catch (error) {
    if (!isStorageError(error)) throw error;
    request.log.warn({ err: error, jobUrl: request.url }, "Crawling@Home shard read failed");
    if (error.kind === "NotFound") throw new CahError(404, "the shard is not in storage");
    throw new CahError(error.retryable ? 503 : 502, `the shard could not be read from storage (${error.kind})`);
  }
}
