// The success file of crawl.images: the pairs columns of every image that made it into a
// shard, plus the original's width and height. Same column contract as pairs-parquet.ts,
// so a reader of one reads the other.
import type { ParquetSchema, ParquetWriter } from "@dsnp/parquetjs";
import { PAIRS_SCHEMA, pairRecord, type Pair } from "./pairs-parquet.ts";

/** One row of the success file: a pair and its original dimensions (after EXIF orientation). */
export interface ImageRow extends Pair {
  width: number;
  height: number;
}

/** PAIRS_SCHEMA plus `width`, `height` INT32 (required). */
export const IMAGES_SCHEMA = {
  ...PAIRS_SCHEMA,
  width: { type: "INT32", compression: "SNAPPY" },
  height: { type: "INT32", compression: "SNAPPY" },
} as const;

export interface ImagesWriter {
  write(row: ImageRow): Promise<void>;
  /** Writes the footer; the file is complete only after this resolves. */
  close(): Promise<{ rows: number }>;
}

const ROW_GROUP_SIZE = 10_000;

/** A streaming writer to a local file (memory bounded by one row group). */
export async function writeImageRows(path: string): Promise<ImagesWriter> {
  const { ParquetSchema: Schema, ParquetWriter: Writer } = await import("@dsnp/parquetjs");
  const schema: ParquetSchema = new Schema(structuredClone(IMAGES_SCHEMA) as never);
  const writer: ParquetWriter = await Writer.openFile(schema, path, { rowGroupSize: ROW_GROUP_SIZE, useDataPageV2: false });
  let rows = 0;
  let closed = false;
  return {
    async write(row) {
      if (closed) throw new Error("writeImageRows: write after close");
      await writer.appendRow({ ...pairRecord(row), width: row.width, height: row.height });
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
