// Streams the metadata records out of a WAT file: gzip (one member per record, as Common Crawl
// writes them) or plain. node:zlib inflates and a small WARC reader (wat-reader.ts) splits the records.
//
// Why not warcio's own gzip handling: it inflates with pako and, on a truncated file or a
// corrupt member, quietly stops as if the file had ended (checked with warcio 2.4.11), so a
// damaged shard would look like a short one. node:zlib checks every member's CRC and length
// and fails on truncation, and it is native, hence faster.
import { Readable, pipeline } from "node:stream";
import { createGunzip, type ZlibOptions } from "node:zlib";
import { scanHtmlRecord, ScanError } from "./wat-html-scan.ts";
import { CorruptShardError, WarcReader, type WarcRecordHead } from "./wat-reader.ts";

/** One `metadata` record. */
export interface WatRecord {
  /** 0-based index among the file's metadata records (pieces split on it). */
  index: number;
  /** WARC-Target-URI of the described record (from the JSON envelope, else the WAT header). */
  targetUri: string;
  /**
   * The page's HTML-Metadata, when the record describes an HTML response: what
   * wat-html-scan.ts reads of it, or JSON.parse's whole object where the scanner gave up.
   */
  html?: unknown;
  /** The JSON payload could not be read; the record is skipped and counted. */
  bad?: true;
}

export interface ParseCounters {
  /** Records of any type, the WAT's own warcinfo included. */
  records: number;
  metadataRecords: number;
  /** Metadata records with an unreadable HTML-Metadata (neither the scanner nor JSON.parse could read them; counted, skipped). */
  badRecords: number;
  /** Bytes after inflating. */
  bytesInflated: number;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
const decoder = new TextDecoder("utf-8");

/**
 * Yields every metadata record of the WAT read from `source`, in file order. Fails with
 * CorruptShardError on a truncated or corrupt file; errors of the source itself (network,
 * storage) pass through unchanged so the caller can retry them.
 */
export async function* parseWat(source: AsyncIterable<Uint8Array>, counters: ParseCounters, signal?: AbortSignal): AsyncGenerator<WatRecord> {
  const reader = new WarcReader(inflate(source, counters, signal));
  let index = 0;
  for (;;) {
    signal?.throwIfAborted();
    let record: WarcRecordHead | null;
    let payload: Buffer;
    try {
      record = await reader.next();
      if (record === null) break;
      counters.records++;
      if (record.type !== "metadata") {
        await reader.skip(record.contentLength);
        continue;
      }
      payload = await reader.read(record.contentLength);
    } catch (error) {
      throw asCorrupt(error);
    }
    if (payload.byteLength !== record.contentLength) {
      throw new CorruptShardError(`record ${counters.records} ends after ${payload.byteLength} of its ${record.contentLength} bytes: the file is truncated`);
    }
    counters.metadataRecords++;
    const headerUri = record.targetUri ?? "";
    const page = readPage(payload);
    if (page === "bad") {
      counters.badRecords++;
      yield { index: index++, targetUri: headerUri, bad: true };
    } else {
      yield { index: index++, targetUri: page.targetUri ?? headerUri, ...(page.html === undefined ? {} : { html: page.html }) };
    }
  }
}

/**
 * A metadata record's page and target URI: read by the scanner, or by JSON.parse of the whole
 * record where the scanner gives up; "bad" when JSON.parse cannot read it either.
 */
function readPage(payload: Buffer): { html?: unknown; targetUri?: string | undefined } | "bad" {
  try {
    return scanHtmlRecord(payload) ?? {};
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
  }
  let envelope: unknown;
  try {
    envelope = JSON.parse(decoder.decode(payload));
  } catch {
    return "bad";
  }
  const env = field(envelope, "Envelope");
  const targetUri = field(field(env, "WARC-Header-Metadata"), "WARC-Target-URI");
  const html = field(field(field(env, "Payload-Metadata"), "HTTP-Response-Metadata"), "HTML-Metadata");
  return { html, targetUri: typeof targetUri === "string" ? targetUri : undefined };
}

/**
 * The inflated bytes of `source`: gunzipped when it starts with the gzip magic, as is when it
 * starts with "WARC/", refused otherwise.
 */
async function* inflate(source: AsyncIterable<Uint8Array>, counters: ParseCounters, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  let first = await iterator.next();
  while (!first.done && first.value.byteLength === 0) first = await iterator.next();
  if (first.done) return; // an empty file: no records
  const head = first.value;
  const rest: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      let sentFirst = false;
      return {
        next: () => {
          if (!sentFirst) {
            sentFirst = true;
            return Promise.resolve({ done: false, value: head });
          }
          return iterator.next();
        },
        return: (value?: unknown) => iterator.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined }),
      };
    },
  };
  if (head[0] === GZIP_MAGIC_0 && (head.byteLength < 2 || head[1] === GZIP_MAGIC_1)) {
    // A deep output buffer lets zlib inflate ahead on its thread while this one parses.
    const gunzip = createGunzip({ chunkSize: 256 * 1024, readableHighWaterMark: 8 << 20 } as ZlibOptions);
    // pipeline() forwards a source error into gunzip, so iterating gunzip raises it.
    pipeline(Readable.from(rest, { objectMode: false, signal }), gunzip, () => {});
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        counters.bytesInflated += chunk.byteLength;
        yield chunk;
      }
    } catch (error) {
      throw asCorrupt(error);
    }
    return;
  }
  if (decoder.decode(head.subarray(0, 5)) !== "WARC/") {
    throw new CorruptShardError("the shard is neither gzip nor WARC (it starts with neither 1f 8b nor 'WARC/')");
  }
  for await (const chunk of rest) {
    counters.bytesInflated += chunk.byteLength;
    yield chunk;
  }
}

/** zlib's complaints become CorruptShardError; anything else passes unchanged. */
function asCorrupt(error: unknown): unknown {
  if (error instanceof CorruptShardError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("Z_")) {
    const what = code === "Z_BUF_ERROR" ? "truncated" : "corrupt";
    return new CorruptShardError(`the shard's gzip data is ${what} (${(error as Error).message})`, error);
  }
  return error;
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}
