import { z } from "zod";
import type { JobTypeSpec } from "../define.ts";

/** A sample id as crawl.wat stores it: a decimal string (ids may pass 2^53), or a safe integer. */
const sampleId = z.union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,19}$/, "must be a decimal integer")]);

/**
 * The GPU stage of a Crawling@Home crawl: a CPU worker parsed a WAT piece and uploaded its
 * intermediate result; a GPU worker fetches that result from `url`, filters it and reports a
 * pair count. Jobs of this type are spawned by the coordinator's Crawling@Home compatibility
 * API when a CPU client marks its crawl.wat job done, and leased by GPU clients through the
 * same API. There is no Drover runner: the old GPU client does the work.
 */
export const gpuPayload = z.strictObject({
  /** Where the CPU stage's result lies (the URL the CPU client reported). */
  url: z.string().min(1).max(4096),
  /** First sample id of the piece (from the crawl.wat job). */
  startId: sampleId,
  /** End of the piece's sample id range (from the crawl.wat job). */
  endId: sampleId,
  /** Which piece of the shard (0 or 1 in Crawling@Home); absent means 0. */
  piece: z.union([z.literal(0), z.literal(1)]).optional(),
  /** The WAT shard the CPU stage parsed (storage or http(s) URL), for the record. */
  shard: z.string().min(1).max(4096).optional(),
});

export type GpuPayload = z.output<typeof gpuPayload>;

export const gpuSpec = {
  name: "crawl.gpu",
  description: "Crawling@Home GPU stage: filter a CPU worker's result (leased by GPU clients of the Crawling@Home API; no Drover runner).",
  payload: gpuPayload,
  // The old GPU client reports progress only a few times per job: a long lease, so a slow
  // filtering run is not taken away; a vanished GPU worker's job comes back within 30 min.
  defaults: { leaseSeconds: 1800, maxAttempts: 5 },
} satisfies JobTypeSpec;
