import { z } from "zod";
import type { JobTypeSpec } from "../define.ts";

/** Sent with every image request unless the payload names another. */
export const DEFAULT_IMAGES_USER_AGENT = "Mozilla/5.0 (compatible; DroverBot/0.1; image-text dataset crawler)";

/** PIL's MAX_IMAGE_PIXELS (1024³ / 4 / 3): the decompression-bomb limit most pipelines share. */
export const DEFAULT_MAX_PIXELS = 89_478_485;

export const imagesOptions = z.strictObject({
  /** Side of the square output images, in pixels. Default 224. */
  size: z.number().int().min(8).max(4096).default(224),
  /** Images downloaded and processed at once. Default 16. */
  concurrency: z.number().int().min(1).max(512).default(16),
  /** Per request: connect, headers and the whole body, in ms. Default 10,000. */
  timeoutMs: z.number().int().min(1).max(600_000).default(10_000),
  /** The User-Agent header. Default DEFAULT_IMAGES_USER_AGENT ("DroverBot/0.1"). */
  userAgent: z.string().min(1).max(1000).default(DEFAULT_IMAGES_USER_AGENT),
  /** Responses shorter than this many bytes count as `tooSmall`. Default 5,120 (5 KiB). */
  minBytes: z.number().int().min(0).default(5 * 1024),
  /** Reading stops past this many bytes and the image counts as `tooBig`. Default 20 MiB. */
  maxBytes: z.number().int().min(1).max(1 << 30).default(20 * 1024 * 1024),
  /** Images with more pixels (read from the header, before decoding) count as `tooBig`. Default 89,478,485. */
  maxPixels: z.number().int().min(1).default(DEFAULT_MAX_PIXELS),
  /** Samples per tar shard. Default 10,000. */
  shardSize: z.number().int().min(1).max(1_000_000).default(10_000),
});

export const imagesPayload = z.strictObject({
  /** Storage URL of a pairs Parquet written by crawl.wat (e.g. s3://bucket/run/pairs/7/1/pairs.parquet). */
  pairs: z.string().min(1).max(4096),
  /** Storage URL under which `<jobId>/<attempt>/` receives the shards and the success Parquet. */
  outputRoot: z.string().min(1).max(4096),
  // prefault, not default: zod 4 returns a default as is, and the inner defaults must apply.
  options: imagesOptions.prefault({}),
});

export const imagesArtifact = z.object({
  /** Storage URL of the uploaded file (the outputRoot URL with the key appended). */
  url: z.string(),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const imagesResult = z.object({
  /** Downloaded, decoded, resized and written to a shard. */
  ok: z.number().int().min(0),
  /** The request did not finish (connect, headers and body) within timeoutMs. */
  timeout: z.number().int().min(0),
  /** Not fetched: a non-2xx status, a network error, or a URL that is not http(s). */
  httpError: z.number().int().min(0),
  /** Fewer than minBytes bytes. */
  tooSmall: z.number().int().min(0),
  /** More than maxBytes bytes or more than maxPixels pixels. */
  tooBig: z.number().int().min(0),
  /** Not a JPEG, PNG or WebP, or it failed to decode. */
  undecodable: z.number().int().min(0),
  /** Rows in the pairs file; the outcomes add up to it. */
  total: z.number().int().min(0),
  /** The tar shards in order, then the success Parquet (`images.parquet`). */
  artifacts: z.array(imagesArtifact),
});

export type ImagesPayload = z.output<typeof imagesPayload>;
export type ImagesOptions = z.output<typeof imagesOptions>;
export type ImagesResult = z.input<typeof imagesResult>;
export type ImagesArtifact = z.output<typeof imagesArtifact>;
/** The outcome of one pair: `ok` or the reason it was dropped. */
export type ImageOutcome = "ok" | "timeout" | "httpError" | "tooSmall" | "tooBig" | "undecodable";

export const imagesSpec = {
  name: "crawl.images",
  description: "Downloads the images of a pairs Parquet, resizes them, writes WebDataset tar shards plus a Parquet of what succeeded.",
  payload: imagesPayload,
  result: imagesResult,
  // Long-running: the worker renews the lease by heartbeat; a lost worker is noticed in 5 min.
  defaults: { leaseSeconds: 300, maxAttempts: 3 },
} satisfies JobTypeSpec;
