// The pairs file: what `crawl.wat` writes and `crawl.images` reads. One row per kept
// (image URL, alt text) pair. The column names and types are the contract between the two
// stages (and with anyone reading the file with pyarrow/duckdb), so change them only together.
//
// @dsnp/parquetjs is imported lazily: only runners load this module, but even they should not
// pay for the parquet code (and its thrift tables) before they write or read a file.
import type { ParquetSchema, ParquetWriter } from "@dsnp/parquetjs";
import { DistinctIds, ZeroLevels } from "./parquet-page-buffers.ts";
import { PlainByteArrays, PlainInt64s, useFastPlainEncoder } from "./parquet-plain.ts";

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
 *
 * `url`, `alt` and `page_url` carry no statistics (min, max, distinct count): parquetjs
 * gathers them by putting every value in a Set twice, a fifth of the time it takes to write the
 * file, and nobody filters pairs on the smallest URL. `sample_id` (id ranges), `license` and
 * `language` keep theirs.
 */
export const PAIRS_SCHEMA = {
  sample_id: { type: "INT64", compression: "SNAPPY" },
  url: { type: "UTF8", compression: "SNAPPY", statistics: false },
  alt: { type: "UTF8", compression: "SNAPPY", statistics: false },
  page_url: { type: "UTF8", compression: "SNAPPY", statistics: false },
  license: { type: "UTF8", optional: true, compression: "SNAPPY" },
  language: { type: "UTF8", optional: true, compression: "SNAPPY" },
} as const;

let schemaPromise: Promise<ParquetSchema> | undefined;

/** PAIRS_SCHEMA as a parquetjs ParquetSchema (built once, on first use). */
export function pairsParquetSchema(): Promise<ParquetSchema> {
  schemaPromise ??= import("@dsnp/parquetjs").then((m) => new m.ParquetSchema(structuredClone(PAIRS_SCHEMA) as never));
  return schemaPromise;
}

/** A pair as a parquetjs row of PAIRS_SCHEMA (the images file extends it). */
export function pairRecord(pair: Pair): Record<string, unknown> {
  return {
    sample_id: pair.sampleId,
    url: pair.url,
    alt: pair.alt,
    page_url: pair.pageUrl,
    // Absent, not null: parquetjs treats a missing optional field as null.
    ...(pair.license ? { license: pair.license } : {}),
    ...(pair.language ? { language: pair.language } : {}),
  };
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
  const { useNativeSnappy } = await import("./parquet-snappy.ts");
  useNativeSnappy();
  const encoder = useFastPlainEncoder();
  // Data page v1 for the widest reader support (older pyarrow/spark read v2 poorly).
  const writer: ParquetWriter = await ParquetWriter.openFile(await pairsParquetSchema(), path, { rowGroupSize: ROW_GROUP_SIZE, useDataPageV2: false });
  let rows = 0;
  let closed = false;
  const fast = fastShredder(writer, encoder === "fast");
  return {
    get rows() {
      return rows;
    },
    async write(pair) {
      if (closed) throw new Error("writePairs: write after close");
      if (fast === undefined || !fast(pair)) {
        await writer.appendRow(pairRecord(pair));
      }
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

/** A column of parquetjs' row buffer, as its shredRecord fills it (@dsnp/parquetjs 1.8). */
interface ColumnBuffer {
  /** Arrays, or ZeroLevels where the direct path only counts them. */
  dlevels: number[] | ZeroLevels;
  rlevels: number[] | ZeroLevels;
  /** An array, or PlainByteArrays / PlainInt64s where the direct path encodes as it goes. */
  values: unknown[] | PlainByteArrays | PlainInt64s;
  /** A Set, or DistinctIds where the direct path keeps sample ids as a range. */
  distinct_values: Set<unknown> | DistinctIds;
  count: number;
}
interface RowBuffer {
  rowCount?: number;
  pageRowCount?: number;
  columnData?: Record<string, ColumnBuffer>;
  pages?: Record<string, unknown[]>;
}
interface WriterInternals {
  rowBuffer?: RowBuffer;
  rowGroupSize?: number;
  envelopeWriter?: { pageSize?: number; useDataPageV2?: boolean; bloomFilters?: Record<string, unknown> } | null;
  schema?: { fieldList?: { path: string[]; dLevelMax: number; rLevelMax: number; isNested?: boolean; statistics?: boolean }[] };
}

type ColumnName = keyof typeof PAIRS_SCHEMA;
interface FastColumn {
  name: ColumnName;
  /** 1 for an optional column (a value present), 0 for a required one. */
  dLevelMax: number;
  /** Whether parquetjs gathers statistics for it (only then is its distinct-value set read). */
  statistics: boolean;
  /** How its values are encoded as they come (strings and sample ids). */
  plain: typeof PlainByteArrays | typeof PlainInt64s;
}

/** PAIRS_SCHEMA's columns, in its order, as the fast path needs them. */
const FAST_COLUMNS: readonly FastColumn[] = Object.entries(PAIRS_SCHEMA).map(([name, spec]) => ({
  name: name as ColumnName,
  dLevelMax: "optional" in spec && spec.optional ? 1 : 0,
  statistics: !("statistics" in spec && spec.statistics === false),
  plain: spec.type === "UTF8" ? PlainByteArrays : PlainInt64s,
}));
const COLUMN = Object.fromEntries(FAST_COLUMNS.map((c) => [c.name, c])) as Record<ColumnName, FastColumn>;

/**
 * parquetjs' appendRow shreds each row through a generic path (a fresh object of arrays and
 * Sets per row and per column, then merged): about half of the time crawl.wat spends writing.
 * For this flat schema the result is simple, so rows are put into the writer's row buffer
 * directly, as shredRecord would put them (same levels, distinct values and counts; values
 * kept as strings where shredRecord makes Buffers, which the encoder turns into the same
 * UTF-8 bytes), so the file is byte for byte the same. Any row that fills a page or a row group
 * goes through appendRow, which then encodes and flushes as usual. Returns undefined (use
 * appendRow for everything) if the writer does not look like the one this was written against.
 *
 * With `encode` (only when useFastPlainEncoder() is in place) and v1 data pages, values are
 * PLAIN-encoded as they are put (parquet-plain.ts), sample ids' distinct values kept as a range
 * and levels that are all 0 only counted (parquet-page-buffers.ts), so a page holds bytes
 * outside the heap instead of strings, bigints and arrays the collector copies until the page
 * is written.
 */
export function fastShredder(writer: ParquetWriter, encode = false): ((pair: Pair) => boolean) | undefined {
  const w = writer as unknown as WriterInternals;
  const fields = w.schema?.fieldList;
  const pageSize = w.envelopeWriter?.pageSize;
  const groupSize = w.rowGroupSize;
  if (typeof w.rowBuffer !== "object" || typeof pageSize !== "number" || typeof groupSize !== "number" || fields?.length !== FAST_COLUMNS.length) return undefined;
  const ok = FAST_COLUMNS.every((c, i) => {
    const f = fields[i]!;
    return f.path.length === 1 && f.path[0] === c.name && f.dLevelMax === c.dLevelMax && f.rLevelMax === 0 && !f.isNested && (f.statistics !== false) === c.statistics;
  });
  if (!ok) return undefined;
  // ZeroLevels stand only where levels are not encoded: a v1 page, a column's maximum level 0.
  // Bloom filters read a page's values as an array: none may be set.
  const bloomFilters = w.envelopeWriter?.bloomFilters;
  const compact = encode && w.envelopeWriter?.useDataPageV2 === false && (bloomFilters === undefined || Object.keys(bloomFilters).length === 0);
  const put = (data: Record<string, ColumnBuffer>, spec: FastColumn, value: string | bigint | undefined): void => {
    const column = data[spec.name]!;
    (compact ? zeroLevels(column, "rlevels") : column.rlevels).push(0);
    column.count += 1;
    const dlevels = compact && spec.dLevelMax === 0 ? zeroLevels(column, "dlevels") : column.dlevels;
    if (value === undefined) {
      dlevels.push(0);
      return;
    }
    dlevels.push(spec.dLevelMax);
    // Read only for statistics: a column without them never looks at its set.
    if (spec.statistics) (compact && spec.plain === PlainInt64s ? distinctIds(column) : column.distinct_values).add(value);
    // shredRecord stores a string as Buffer.from(value, "utf8"), but the PLAIN encoder copies
    // every value through Buffer.from() again, which gives a string's UTF-8 bytes directly: the
    // string itself encodes to the same bytes, and one Buffer per value is saved.
    (compact ? encodedValues(column, spec.plain) : column.values).push(value);
  };
  return (pair) => {
    const buffer = w.rowBuffer;
    if (buffer === undefined) return false;
    // A row that completes a page or a row group: appendRow encodes and flushes after it.
    if ((buffer.pageRowCount ?? 0) + 1 >= pageSize || (buffer.rowCount ?? 0) + 1 >= groupSize) return false;
    // Anything unusual goes through appendRow, which checks each field before it puts any
    // (a value refused halfway here would leave half a row): ids outside 0..INT64_MAX, a
    // required string missing or not a string, an optional one neither a string nor absent.
    if (typeof pair.sampleId !== "bigint" || pair.sampleId < 0n || pair.sampleId > INT64_MAX) return false;
    if (typeof pair.url !== "string" || typeof pair.alt !== "string" || typeof pair.pageUrl !== "string") return false;
    if ((pair.license !== undefined && typeof pair.license !== "string") || (pair.language !== undefined && typeof pair.language !== "string")) return false;
    if (buffer.columnData === undefined || buffer.rowCount === undefined) {
      buffer.rowCount = 0;
      buffer.pageRowCount = 0;
      buffer.columnData = {};
      buffer.pages = {};
      for (const c of FAST_COLUMNS) {
        buffer.columnData[c.name] = { dlevels: [], rlevels: [], values: [], distinct_values: new Set(), count: 0 };
        buffer.pages[c.name] = [];
      }
    }
    const data = buffer.columnData;
    put(data, COLUMN.sample_id, pair.sampleId);
    put(data, COLUMN.url, pair.url);
    put(data, COLUMN.alt, pair.alt);
    put(data, COLUMN.page_url, pair.pageUrl);
    put(data, COLUMN.license, pair.license || undefined);
    put(data, COLUMN.language, pair.language || undefined);
    buffer.rowCount += 1;
    buffer.pageRowCount = (buffer.pageRowCount ?? 0) + 1;
    return true;
  };
}

const INT64_MAX = 9_223_372_036_854_775_807n;

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

/**
 * The column's values as `plain` encodes them. parquetjs starts every page with a fresh array,
 * and its own shredder may have put values there already (a row that went through appendRow).
 */
function encodedValues(column: ColumnBuffer, plain: typeof PlainByteArrays | typeof PlainInt64s): PlainByteArrays | PlainInt64s {
  if (column.values instanceof plain) return column.values;
  const encoded = new plain();
  for (const value of column.values as unknown[]) encoded.push(value);
  column.values = encoded;
  return encoded;
}

/** The column's levels of one kind as ZeroLevels (parquetjs starts every page with fresh arrays, see encodedValues). */
function zeroLevels(column: ColumnBuffer, kind: "rlevels" | "dlevels"): ZeroLevels {
  const levels = column[kind];
  if (levels instanceof ZeroLevels) return levels;
  const zeros = new ZeroLevels();
  for (const level of levels as number[]) zeros.push(level);
  column[kind] = zeros;
  return zeros;
}

/** The column's distinct values as DistinctIds (parquetjs starts every page with a fresh Set, see encodedValues). */
function distinctIds(column: ColumnBuffer): DistinctIds {
  if (column.distinct_values instanceof DistinctIds) return column.distinct_values;
  const ids = new DistinctIds();
  for (const value of column.distinct_values) ids.add(value);
  column.distinct_values = ids;
  return ids;
}
