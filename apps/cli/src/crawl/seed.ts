import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import type { DroverClient } from "@drover/protocol";

export interface SeedOptions {
  /** A Common Crawl `wat.paths` file, plain or gzip: one shard path per line. */
  paths: string;
  /** Joined with each path: an http(s) URL or a storage URL (s3://commoncrawl/ …). */
  baseUrl: string;
  /** Where the crawl.wat jobs write their artifacts (a storage URL). */
  outputRoot: string;
  idsPerShard: number;
  /** 1: one job per shard; 2: one per half (Crawling@Home's pieces). */
  pieces: 1 | 2;
  queue?: string;
  priority?: number;
  /** Lease length for the jobs; default the type's (300 s). */
  leaseSeconds?: number;
  /** Jobs per submitBatch call. */
  batchSize?: number;
}

export interface SeedResult {
  shards: number;
  submitted: number;
  deduplicated: number;
  /** The sample-id range this run reserved: [firstId, endId). */
  firstId: number | null;
  endId: number | null;
}

/** The sequence crawl sample ids come from: a second seeding continues the numbering. */
export const SAMPLE_SEQUENCE = "crawl.samples";

/** Reads shard paths, gunzipping when the file starts with the gzip magic bytes. */
export async function* readPaths(file: string): AsyncGenerator<string> {
  const handle = await open(file, "r");
  const magic = Buffer.alloc(2);
  await handle.read(magic, 0, 2, 0);
  await handle.close();
  const raw = createReadStream(file);
  const input = magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    const path = line.trim();
    if (path !== "" && !path.startsWith("#")) yield path;
  }
}

export function shardUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/**
 * Submits one crawl.wat job per shard (or per half), in batches. Each batch reserves its
 * sample ids with one jobs.allocateIds call, so ranges never overlap across runs or
 * concurrent seeders. Idempotency keys (shard URL + piece) make a re-run add nothing
 * twice; ids reserved for jobs that turn out to exist already are left unused (a gap, never
 * an overlap).
 */
export async function seedShards(client: DroverClient, options: SeedOptions, onProgress?: (done: number) => void): Promise<SeedResult> {
  const batchSize = options.batchSize ?? 500;
  const result: SeedResult = { shards: 0, submitted: 0, deduplicated: 0, firstId: null, endId: null };
  let batch: { url: string; piece: number }[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const { start, end } = await client.jobs.allocateIds.mutate({ sequence: SAMPLE_SEQUENCE, count: batch.length * options.idsPerShard });
    result.firstId ??= start;
    result.endId = end;
    const jobs = batch.map((item, i) => {
      const startId = start + i * options.idsPerShard;
      return {
        type: "crawl.wat",
        payload: {
          shard: item.url,
          startId,
          // crawl.wat's range is [startId, endId): end exclusive.
          endId: startId + options.idsPerShard,
          ...(options.pieces === 2 ? { piece: item.piece } : {}),
          outputRoot: options.outputRoot,
        },
        idempotencyKey: `crawl.wat:${item.url}#${options.pieces === 2 ? item.piece : "all"}`,
        ...(options.queue ? { queue: options.queue } : {}),
        ...(options.priority !== undefined ? { priority: options.priority } : {}),
        ...(options.leaseSeconds !== undefined ? { leaseSeconds: options.leaseSeconds } : {}),
      };
    });
    const submitted = await client.jobs.submitBatch.mutate({ jobs });
    for (const s of submitted) {
      if (s.deduplicated) result.deduplicated++;
      else result.submitted++;
    }
    onProgress?.(result.submitted + result.deduplicated);
    batch = [];
  };
  for await (const path of readPaths(options.paths)) {
    result.shards++;
    const url = shardUrl(options.baseUrl, path);
    for (let piece = 0; piece < options.pieces; piece++) {
      batch.push({ url, piece });
      if (batch.length >= batchSize) await flush();
    }
  }
  await flush();
  return result;
}
