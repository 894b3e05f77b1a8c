// parquetjs compresses SNAPPY pages with snappyjs, written in JavaScript: a quarter of the time
// crawl.wat spends writing its pairs file. The `snappy` package (napi-rs, native) compresses
// the same page about twice as fast. Its output bytes differ from snappyjs' (both are valid
// snappy streams; any reader, snappyjs included, inflates either: tested), so files written
// before and after read the same.
//
// parquetjs has no option for this: its table of compression methods is a plain exported
// object that writers look up on every page, so the SNAPPY entry's deflate is replaced, once,
// for the whole process. Where the native module cannot load (a platform without a prebuilt
// binary), nothing is replaced and snappyjs goes on working.
import { createRequire } from "node:module";

interface CompressionMethod {
  deflate: (value: Buffer) => Buffer | Promise<Buffer>;
  inflate: (value: Buffer) => Buffer | Promise<Buffer>;
}

let state: "native" | "snappyjs" | undefined;

/**
 * Makes parquetjs compress SNAPPY pages with the native `snappy` package. Idempotent; returns
 * which implementation compresses from now on.
 */
export function useNativeSnappy(): "native" | "snappyjs" {
  if (state !== undefined) return state;
  state = "snappyjs";
  const require = createRequire(import.meta.url);
  let compressSync: (input: Uint8Array) => Buffer;
  let methods: Record<string, CompressionMethod | undefined>;
  try {
    ({ compressSync } = require("snappy") as { compressSync: (input: Uint8Array) => Buffer });
    // The very module parquetjs' writer requires (one CommonJS cache), so the change reaches it.
    ({ PARQUET_COMPRESSION_METHODS: methods } = require("@dsnp/parquetjs/dist/lib/compression.js") as {
      PARQUET_COMPRESSION_METHODS: Record<string, CompressionMethod | undefined>;
    });
  } catch {
    return state; // no native binary here, or a parquetjs laid out differently
  }
  const snappy = methods.SNAPPY;
  if (snappy === undefined || typeof snappy.deflate !== "function") return state;
  snappy.deflate = (value: Buffer) => compressSync(value);
  state = "native";
  return state;
}
