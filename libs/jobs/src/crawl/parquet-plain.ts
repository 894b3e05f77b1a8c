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
  plain.encodeValues = (type: string, values: unknown[], opts?: unknown): Buffer =>
    (type === "BYTE_ARRAY" ? encodeByteArrays(values) : undefined) ?? encode(type, values, opts);
  state = "fast";
  return state;
}

/**
 * PLAIN BYTE_ARRAY: each value as a 4-byte little-endian length and its bytes (a string's
 * UTF-8, as Buffer.from gives it). Undefined when a value is neither a string nor a byte array.
 */
export function encodeByteArrays(values: readonly unknown[]): Buffer | undefined {
  // A UTF-16 unit never takes more than 3 bytes of UTF-8 (a surrogate pair takes 4 for 2), so
  // this bound always fits; the page is cut to what was written.
  let bound = 0;
  for (const value of values) {
    if (typeof value === "string") bound += 4 + 3 * value.length;
    else if (value instanceof Uint8Array) bound += 4 + value.byteLength;
    else return undefined;
  }
  const page = Buffer.allocUnsafe(bound);
  let at = 0;
  for (const value of values) {
    let length: number;
    if (typeof value === "string") length = page.write(value, at + 4);
    else {
      const bytes = value as Uint8Array;
      page.set(bytes, at + 4);
      length = bytes.byteLength;
    }
    page.writeUInt32LE(length, at);
    at += 4 + length;
  }
  return page.subarray(0, at);
}
