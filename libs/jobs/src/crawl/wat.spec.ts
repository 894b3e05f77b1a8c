import { z } from "zod";
import type { JobTypeSpec } from "../define.ts";
import { imagesOptions } from "./images.spec.ts";

/** 2^63 - 1: sample ids are Parquet INT64. */
const INT64_MAX = 9_223_372_036_854_775_807n;

/**
 * A sample id: a non-negative integer given as a JS number (safe integers only) or as a
 * decimal string (for ids past 2^53). Always a decimal string after parsing, so the value
 * survives JSON and the coordinator's database exactly; the runner does its arithmetic in BigInt.
 */
export const sampleId = z
  .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,19}$/, "must be a decimal integer")])
  .transform((v) => BigInt(v).toString())
  .refine((v) => BigInt(v) <= INT64_MAX, "must fit in a signed 64-bit integer");

export const watOptions = z.strictObject({
  /** Image URL path extensions to drop, without the dot, case-insensitive. Default ["svg", "gif"]. */
  excludeExtensions: z
    .array(z.string().regex(/^[A-Za-z0-9]{1,16}$/, "an extension without the dot, e.g. 'svg'"))
    .max(100)
    .default(["svg", "gif"])
    .transform((list) => list.map((e) => e.toLowerCase())),
  /** Alt texts shorter than this many characters (after whitespace is collapsed) are dropped. Default 1. */
  minAltLength: z.number().int().min(1).max(10_000).default(1),
  /** Detect each kept alt text's language (the `language` column). Default true. */
  detectLanguage: z.boolean().default(true),
  /** Queue a `crawl.images` job for the pairs file when at least one pair was kept. Default true. */
  spawnImages: z.boolean().default(true),
});

export const watPayload = z
  .strictObject({
    /**
     * The WAT file (.wat.gz, multi-member gzip, or a plain WARC): a storage URL
     * (s3://, gs://, file://, memory://, rsync…) or an http(s) URL, streamed either way.
     */
    shard: z.string().min(1).max(4096),
    /** First sample id (inclusive). */
    startId: sampleId,
    /** End of the id range, exclusive: ids run startId, startId+1, … < endId. */
    endId: sampleId,
    /**
     * Crawling@Home's half shards: piece 0 keeps the pairs first found in metadata records with
     * an even index (0, 2, 4… in file order), piece 1 those with an odd index. Both pieces read
     * the whole file, so a pair repeated across the halves is kept once, by the piece where it
     * first appears: the two pieces' outputs are disjoint and together equal the whole shard's.
     * Omitted: the whole shard.
     */
    piece: z.union([z.literal(0), z.literal(1)]).optional(),
    /** Storage URL under which `<jobId>/<attempt>/` receives pairs.parquet and stats.json. */
    outputRoot: z.string().min(1).max(4096),
    // prefault, not default: zod 4 returns a default as is, and the inner defaults must apply.
    options: watOptions.prefault({}),
    /** Options for the spawned crawl.images job (its defaults when omitted). */
    images: imagesOptions.optional(),
  })
  .refine((p) => BigInt(p.endId) >= BigInt(p.startId), { message: "endId must not be less than startId", path: ["endId"] });

export const watArtifact = z.object({
  /** Storage URL of the uploaded file (outputRoot with the key appended). */
  url: z.string(),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const watResult = z.object({
  /** Pairs written (= the `pairs` counter). */
  pairs: z.number().int().min(0),
  /** Sample ids used, as decimal strings; null when no pair was kept. */
  firstId: z.string().nullable(),
  lastId: z.string().nullable(),
  /** Metadata records of the piece (of the whole file without a piece). */
  records: z.number().int().min(0),
  /** Of those, HTML pages (records with HTML-Metadata). */
  pages: z.number().int().min(0),
  images: z.number().int().min(0),
  duplicates: z.number().int().min(0),
  pairsFile: watArtifact,
  statsFile: watArtifact,
  /** Whether a crawl.images job was requested. */
  spawned: z.boolean(),
});

export type WatPayload = z.output<typeof watPayload>;
export type WatOptions = z.output<typeof watOptions>;
export type WatResult = z.input<typeof watResult>;
export type WatArtifact = z.output<typeof watArtifact>;

export const watSpec = {
  name: "crawl.wat",
  description: "Streams a Common Crawl WAT shard (or one half of it) and writes its (image URL, alt text) pairs as Parquet, then queues crawl.images.",
  payload: watPayload,
  result: watResult,
  // Long-running (a 1 GB shard takes minutes): the worker renews the lease by heartbeat.
  defaults: { leaseSeconds: 300, maxAttempts: 3 },
} satisfies JobTypeSpec;
