// The pairs file: what `crawl.wat` writes and `crawl.images` reads. One row per kept
// (image URL, alt text) pair. The column names and types are the contract between the two
// stages (and with anyone reading the file with pyarrow/duckdb), so change them only together.
//
// @dsnp/parquetjs is imported lazily: only runners load this module, but even they should not
// pay for the parquet code (and its thrift tables) before they write or read a file.
import type { ParquetSchema, ParquetWriter } from "@dsnp/parquetjs";

/** One row of the pairs file. */
export interface Pair {
  /** Unique across the whole crawl: counts up from the job's `startId`. */
  sampleId: bigint;
  /** The image URL, absolute (resolved against the page URL). */
  url: string;
  /** The alt text, whitespace collapsed and trimmed, never empty. */
  alt: string;
  /** The page the image was found on (WARC-Target-URI). */
  pageUrl: string;
  /** A Creative Commons licence or public-domain URL the page links to, if any. */
  license?: string | undefined;
  /** ISO 639-1 code of the alt text's language, when the detector was confident. */
  language?: string | undefined;
}

/**
 * The Parquet columns, by name: `sample_id` INT64; `url`, `alt`, `page_url` UTF8 (required);
 * `license`, `language` UTF8 (optional, null when unknown). SNAPPY-compressed pages.
 */
export const PAIRS_SCHEMA = {
  sample_id: { type: "INT64", compression: "SNAPPY" },
  url: { type: "UTF8", compression: "SNAPPY" },
  alt: { type: "UTF8", compression: "SNAPPY" },
  page_url: { type: "UTF8", compression: "SNAPPY" },
  license: { type: "UTF8", optional: true, compression: "SNAPPY" },
  language: { type: "UTF8", optional: true, compression: "SNAPPY" },
} as const;

let schemaPromise: Promise<ParquetSchema> | undefined;

/** PAIRS_SCHEMA as a parquetjs ParquetSchema (built once, on first use). */
export function pairsParquetSchema(): Promise<ParquetSchema> {
  schemaPromise ??= import("@dsnp/parquetjs").then((m) => new m.ParquetSchema(structuredClone(PAIRS_SCHEMA) as never));
  return schemaPromise;
}

export interface PairsWriter {
  /** Appends one row; rows are buffered and flushed a row group at a time. */
  write(pair: Pair): Promise<void>;
  /** Writes the footer and closes the file. The file is complete only after this resolves. */
  close(): Promise<{ rows: number }>;
  /** Rows written so far. */
  readonly rows: number;
}

/** Rows per row group: ~10k pairs is a few MB, small enough to buffer, large enough to scan fast. */
const ROW_GROUP_SIZE = 10_000;

/**
 * Opens a streaming writer to a local file. Memory stays bounded by one row group. If the
 * caller fails before close(), the file is incomplete (no footer): never upload it.
 */
export async function writePairs(path: string): Promise<PairsWriter> {
  const { ParquetWriter } = await import("@dsnp/parquetjs");
  // Data page v1 for the widest reader support (older pyarrow/spark read v2 poorly).
  const writer: ParquetWriter = await ParquetWriter.openFile(await pairsParquetSchema(), path, { rowGroupSize: ROW_GROUP_SIZE, useDataPageV2: false });
  let rows = 0;
  let closed = false;
  return {
    get rows() {
      return rows;
    },
    async write(pair) {
      if (closed) throw new Error("writePairs: write after close");
      await writer.appendRow({
        sample_id: pair.sampleId,
        url: pair.url,
        alt: pair.alt,
        page_url: pair.pageUrl,
        // Absent, not null: parquetjs treats a missing optional field as null.
        ...(pair.license ? { license: pair.license } : {}),
        ...(pair.language ? { language: pair.language } : {}),
      });
      rows++;
    },
    async close() {
      if (!closed) {
        closed = true;
        await writer.close();
      }
      return { rows };
    },
  };
}

export interface ReadPairsOptions {
  signal?: AbortSignal;
}

/** Streams the rows of a pairs file (local path), in file order. */
export async function* readPairs(path: string, options: ReadPairsOptions = {}): AsyncGenerator<Pair> {
  const { ParquetReader } = await import("@dsnp/parquetjs");
  const reader = await ParquetReader.openFile(path);
  try {
    const cursor = reader.getCursor();
    for (;;) {
      options.signal?.throwIfAborted();
      const row = (await cursor.next()) as RawRow | null;
      if (row === null || row === undefined) return;
      yield {
        sampleId: typeof row.sample_id === "bigint" ? row.sample_id : BigInt(row.sample_id),
        url: row.url,
        alt: row.alt,
        pageUrl: row.page_url,
        ...(row.license == null ? {} : { license: row.license }),
        ...(row.language == null ? {} : { language: row.language }),
      };
    }
  } finally {
    await reader.close();
  }
}

/** The number of rows in a pairs file, from its footer (no data pages read). */
export async function countPairs(path: string): Promise<number> {
  const { ParquetReader } = await import("@dsnp/parquetjs");
  const reader = await ParquetReader.openFile(path);
  try {
    return Number(reader.getRowCount().toString());
  } finally {
    await reader.close();
  }
}

interface RawRow {
  sample_id: bigint | number;
  url: string;
  alt: string;
  page_url: string;
  license?: string | null;
  language?: string | null;
}
