// parquetjs' PLAIN encoder for BYTE_ARRAY columns (every string column: URLs, alt texts, page
// URLs) copies each value into a Buffer of its own, then into a zero-filled page buffer: for
// crawl.wat's pairs file, a Buffer per value and two copies of every byte, about a tenth of
// the time spent writing it. This one measures each value, allocates the page once and writes
// the strings' UTF-8 straight into it: the same bytes (tested against parquetjs' encoder).
//
// As with parquet-snappy.ts, parquetjs has no option for it: the writer looks the encoder up
// in the PLAIN codec module's exports on every page, so that entry is wrapped once for the
// whole process. Other types, and values that are neither strings nor byte arrays, still go
// to parquetjs' own encoder.
//
// PlainByteArrays and PlainInt64s go one step further for writers that fill parquetjs' row
// buffer themselves (pairs-parquet.ts): they stand in for a column's array of values and encode
// each value as it is pushed, so no string or bigint waits in the heap for its page. A page's
// values otherwise lived through several young-generation collections and were copied each
// time: with crawl.wat's URLs, alt texts and page URLs, a third of the job's collection time.
import { createRequire } from "node:module";

type EncodeValues = (type: string, values: unknown[], opts?: unknown) => Buffer;

let state: "fast" | "parquetjs" | undefined;

/** Makes parquetjs encode PLAIN BYTE_ARRAY pages with encodeByteArrays. Idempotent; returns which encoder is in use. */
export function useFastPlainEncoder(): "fast" | "parquetjs" {
  if (state !== undefined) return state;
  state = "parquetjs";
  let plain: { encodeValues?: unknown };
  try {
    // The very module parquetjs' writer requires (one CommonJS cache), so the change reaches it.
    plain = createRequire(import.meta.url)("@dsnp/parquetjs/dist/lib/codec/plain.js") as { encodeValues?: unknown };
  } catch {
    return state; // a parquetjs laid out differently: keep its encoder
  }
  const original = plain.encodeValues;
  if (typeof original !== "function") return state;
  const encode = original as EncodeValues;
  plain.encodeValues = (type: string, values: unknown[], opts?: unknown): Buffer => {
    if (type === "BYTE_ARRAY" && values instanceof PlainByteArrays) return values.bytes();
    if (type === "INT64" && values instanceof PlainInt64s) return values.bytes();
    if (values instanceof PlainValues) throw new TypeError(`parquet-plain: ${values.constructor.name} given for a ${type} column`);
    return (type === "BYTE_ARRAY" ? encodeByteArrays(values) : undefined) ?? encode(type, values, opts);
  };
  state = "fast";
  return state;
}

/**
 * PLAIN BYTE_ARRAY: each value as a 4-byte little-endian length and its bytes (a string's
 * UTF-8, as Buffer.from gives it). Undefined when a value is neither a string nor a byte array.
 */
export function encodeByteArrays(values: readonly unknown[]): Buffer | undefined {
  // Measured first, so the page is allocated once (see byteArrayBound).
  let bound = 0;
  for (const value of values) {
    const room = byteArrayBound(value);
    if (room === undefined) return undefined;
    bound += room;
  }
  const encoded = new PlainByteArrays(bound);
  for (const value of values) encoded.push(value);
  return encoded.bytes();
}

/**
 * The most bytes a BYTE_ARRAY value takes PLAIN-encoded (its length, then its bytes), or
 * undefined when it is neither a string nor a byte array. A UTF-16 unit never takes more
 * than 3 bytes of UTF-8 (a surrogate pair takes 4 for 2), so a string's bound always fits.
 */
function byteArrayBound(value: unknown): number | undefined {
  if (typeof value === "string") return 4 + 3 * value.length;
  if (value instanceof Uint8Array) return 4 + value.byteLength;
  return undefined;
}

/**
 * A column's values, PLAIN-encoded as they are pushed. It stands where parquetjs keeps a
 * page's values (an array it only pushes to, counts and hands to the encoder), so it has those
 * parts of an array: push and length. Only usable once useFastPlainEncoder() has returned
 * "fast": parquetjs' own encoder does not know it.
 */
abstract class PlainValues {
  /** Values pushed. */
  length = 0;
  #page: Buffer;
  #at = 0;

  /** `capacity`: bytes to start with (the page grows as needed). */
  constructor(capacity = 64 * 1024) {
    this.#page = Buffer.allocUnsafe(capacity);
  }

  /** Appends a value; returns the new length, as Array#push does (parquetjs pushes one at a time). */
  push(value: unknown): number {
    this.#at = this.append(value, this.#at);
    return ++this.length;
  }

  /** The page's values so far, encoded (a view of the buffer: read it before pushing more). */
  bytes(): Buffer {
    return this.#page.subarray(0, this.#at);
  }

  /** Writes `value` at `at` (room made with room()); returns the offset just past it. */
  protected abstract append(value: unknown, at: number): number;

  /** The page, with at least `bytes` free after `at`. */
  protected room(at: number, bytes: number): Buffer {
    if (at + bytes > this.#page.byteLength) {
      const page = Buffer.allocUnsafe(Math.max(at + bytes, 2 * this.#page.byteLength));
      this.#page.copy(page, 0, 0, at);
      this.#page = page;
    }
    return this.#page;
  }
}

/** BYTE_ARRAY values (strings as UTF-8, byte arrays as they are): the bytes encodeByteArrays writes. */
export class PlainByteArrays extends PlainValues {
  protected append(value: unknown, at: number): number {
    const bound = byteArrayBound(value);
    if (bound === undefined) throw new TypeError(`PlainByteArrays: a BYTE_ARRAY value must be a string or bytes, not ${describe(value)}`);
    const page = this.room(at, bound);
    let length: number;
    if (typeof value === "string") length = page.write(value, at + 4);
    else {
      page.set(value as Uint8Array, at + 4);
      length = (value as Uint8Array).byteLength;
    }
    page.writeUInt32LE(length, at);
    return at + 4 + length;
  }
}

/** INT64 values (bigints, or integral numbers): 8 bytes little-endian each, as parquetjs writes them. */
export class PlainInt64s extends PlainValues {
  protected append(value: unknown, at: number): number {
    if (typeof value !== "bigint" && !Number.isInteger(value)) throw new TypeError(`PlainInt64s: an INT64 value must be a bigint or an integer, not ${describe(value)}`);
    // writeBigInt64LE refuses values outside the signed 64-bit range, as parquetjs' encoder does.
    this.room(at, 8).writeBigInt64LE(BigInt(value as bigint | number), at);
    return at + 8;
  }
}

function describe(value: unknown): string {
  return value === null ? "null" : typeof value === "number" ? String(value) : typeof value;
}
