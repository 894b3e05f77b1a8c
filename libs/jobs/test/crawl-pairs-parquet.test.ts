// writePairs puts rows into parquetjs' row buffer itself (pairs-parquet.ts, fastShredder):
// the file must be byte for byte what parquetjs' own appendRow writes.
import { ParquetWriter } from "@dsnp/parquetjs";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fastShredder, pairsParquetSchema, readPairs, writePairs, type Pair } from "../src/crawl/pairs-parquet.ts";
import { encodeByteArrays, useFastPlainEncoder } from "../src/crawl/parquet-plain.ts";
import { useNativeSnappy } from "../src/crawl/parquet-snappy.ts";

const dir = mkdtempSync(join(tmpdir(), "drover-pairs-parquet-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("writePairs", () => {
  it("writes the same bytes as parquetjs' appendRow, across pages and row groups", async () => {
    // 23,456 rows: two full row groups of 10,000 and a partial one; pages of 8,192 inside them.
    const rows: Pair[] = Array.from({ length: 23_456 }, (_, i) => ({
      sampleId: 9_007_199_254_740_000n + BigInt(i),
      url: `https://img${i % 97}.example/p/${i}.jpg`,
      alt: i % 11 === 0 ? `Ünïcode alt ${i} 日本語` : `alt ${i % 500}`,
      pageUrl: `https://site${i % 13}.example/page/${i >> 3}`,
      ...(i % 7 === 0 ? { license: "https://creativecommons.org/licenses/by/4.0/" } : {}),
      ...(i % 3 === 0 ? { language: "en" } : i % 3 === 1 ? { language: "" } : {}),
    }));
    const fast = join(dir, "fast.parquet");
    const writer = await writePairs(fast);
    for (const row of rows) await writer.write(row);
    expect(await writer.close()).toEqual({ rows: rows.length });

    const plain = join(dir, "plain.parquet");
    const reference = await ParquetWriter.openFile(await pairsParquetSchema(), plain, { rowGroupSize: 10_000, useDataPageV2: false });
    for (const row of rows) {
      await reference.appendRow({
        sample_id: row.sampleId,
        url: row.url,
        alt: row.alt,
        page_url: row.pageUrl,
        ...(row.license ? { license: row.license } : {}),
        ...(row.language ? { language: row.language } : {}),
      });
    }
    await reference.close();
    expect(readFileSync(fast).equals(readFileSync(plain))).toBe(true);

    const back: Pair[] = [];
    for await (const pair of readPairs(fast)) back.push(pair);
    expect(back).toHaveLength(rows.length);
    expect(back.slice(0, 50)).toEqual(rows.slice(0, 50).map((r) => ({ ...r, language: r.language || undefined })));
  });

  it("takes the direct path with the parquetjs it was written against (else the test above proves nothing)", async () => {
    const writer = await ParquetWriter.openFile(await pairsParquetSchema(), join(dir, "probe.parquet"), { rowGroupSize: 10_000, useDataPageV2: false });
    expect(fastShredder(writer)).toBeTypeOf("function");
    await writer.close();
  });
});

describe("native snappy for parquetjs", () => {
  it("compresses SNAPPY pages natively here, and snappyjs (parquetjs' reader) inflates them", async () => {
    expect(useNativeSnappy()).toBe("native");
    expect(useNativeSnappy()).toBe("native"); // idempotent
    const { PARQUET_COMPRESSION_METHODS: methods } = (await import("@dsnp/parquetjs/dist/lib/compression.js")) as unknown as {
      PARQUET_COMPRESSION_METHODS: Record<string, { deflate: (b: Buffer) => Buffer; inflate: (b: Buffer) => Promise<Buffer> }>;
    };
    // snappyjs as parquetjs loads it (parquetjs' own dependency, untyped).
    const snappyjs = createRequire(import.meta.resolve("@dsnp/parquetjs"))("snappyjs") as { compress: (b: Buffer) => Uint8Array; uncompress: (b: Buffer) => Uint8Array };
    // Empty, tiny, repetitive and random pages, the last larger than snappy's 64 KiB block.
    const random = Buffer.alloc(200_000);
    for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
    for (const page of [Buffer.alloc(0), Buffer.from("x"), Buffer.from("https://img.example/a.jpg".repeat(5000)), random]) {
      const packed = methods.SNAPPY!.deflate(page);
      expect((await methods.SNAPPY!.inflate(packed)).equals(page)).toBe(true);
      expect(Buffer.from(snappyjs.uncompress(packed)).equals(page)).toBe(true);
      // And the other way: pages snappyjs wrote (files from before) still read.
      expect((await methods.SNAPPY!.inflate(Buffer.from(snappyjs.compress(page)))).equals(page)).toBe(true);
    }
  });
});

describe("fast PLAIN BYTE_ARRAY encoder for parquetjs", () => {
  // What parquetjs' encodeValues_BYTE_ARRAY writes: per value a 4-byte LE length, then Buffer.from(value).
  const reference = (values: (string | Uint8Array)[]): Buffer =>
    Buffer.concat(
      values.flatMap((v) => {
        const bytes = Buffer.from(v as string);
        const length = Buffer.alloc(4);
        length.writeUInt32LE(bytes.length);
        return [length, bytes];
      }),
    );

  it("writes the bytes parquetjs' encoder writes: ASCII, multi-byte, astral, lone surrogates, empty, byte arrays", () => {
    const values: (string | Uint8Array)[] = [
      "",
      "https://img.example/a.jpg",
      "Ein Hund im Park",
      "größe ½ — 犬と猫",
      "emoji 🐕‍🦺 and 𝄞",
      "lone \ud800 high and \udc00 low surrogates, and one at the end \ud83d",
      "x".repeat(70_000),
      Buffer.from("a Buffer value"),
      new Uint8Array([0, 255, 1, 254]),
    ];
    for (let i = 0; i < values.length; i++) expect(encodeByteArrays(values.slice(i))!.equals(reference(values.slice(i)))).toBe(true);
    expect(encodeByteArrays([])!.byteLength).toBe(0);
  });

  it("leaves values it does not know to parquetjs (undefined), and is what the writer uses", async () => {
    expect(encodeByteArrays(["a", 5])).toBeUndefined();
    expect(encodeByteArrays([null])).toBeUndefined();
    expect(useFastPlainEncoder()).toBe("fast");
    expect(useFastPlainEncoder()).toBe("fast"); // idempotent
    const plain = createRequire(import.meta.resolve("@dsnp/parquetjs"))("@dsnp/parquetjs/dist/lib/codec/plain.js") as {
      encodeValues: (type: string, values: unknown[], opts?: unknown) => Buffer;
    };
    expect(plain.encodeValues("BYTE_ARRAY", ["é", Buffer.from("b")]).equals(reference(["é", Buffer.from("b")]))).toBe(true);
    // Other types still go to parquetjs' own encoder.
    expect(plain.encodeValues("INT32", [1, -1]).equals(Buffer.from([1, 0, 0, 0, 255, 255, 255, 255]))).toBe(true);
  });
});
