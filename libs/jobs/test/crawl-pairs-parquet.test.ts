// writePairs puts rows into parquetjs' row buffer itself (pairs-parquet.ts, fastShredder):
// the file must be byte for byte what parquetjs' own appendRow writes.
import { ParquetWriter } from "@dsnp/parquetjs";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fastShredder, pairsParquetSchema, readPairs, writePairs, type Pair } from "../src/crawl/pairs-parquet.ts";
import { DistinctIds, ZeroLevels } from "../src/crawl/parquet-page-buffers.ts";
import { encodeByteArrays, PlainByteArrays, PlainInt64s, useFastPlainEncoder } from "../src/crawl/parquet-plain.ts";
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

  it("writes the same bytes as appendRow when sample ids do not count up by one (the range of distinct ids gives way to a Set)", async () => {
    // Gaps, a repeat, a step back and a jump: every page's DistinctIds has to fall back.
    const ids = [5n, 6n, 7n, 9n, 9n, 8n, 100n, 3n, 101n, 102n];
    const rows: Pair[] = Array.from({ length: 9_000 }, (_, i) => ({
      sampleId: ids[i % ids.length]! + 1000n * BigInt(Math.floor(i / ids.length)),
      url: `https://img.example/${i % 50}.jpg`,
      alt: `alt ${i % 7}`,
      pageUrl: "https://site.example/",
    }));
    const fast = join(dir, "gaps-fast.parquet");
    const writer = await writePairs(fast);
    for (const row of rows) await writer.write(row);
    await writer.close();
    const plain = join(dir, "gaps-plain.parquet");
    const reference = await ParquetWriter.openFile(await pairsParquetSchema(), plain, { rowGroupSize: 10_000, useDataPageV2: false });
    for (const row of rows) await reference.appendRow({ sample_id: row.sampleId, url: row.url, alt: row.alt, page_url: row.pageUrl });
    await reference.close();
    expect(readFileSync(fast).equals(readFileSync(plain))).toBe(true);
  });

  it("refuses a pair with a missing or mistyped field as appendRow does, leaving the rows before it whole", async () => {
    const path = join(dir, "refused.parquet");
    const writer = await writePairs(path);
    const good: Pair = { sampleId: 1n, url: "https://a.example/1.jpg", alt: "one", pageUrl: "https://a.example/" };
    await writer.write(good);
    for (const bad of [{ url: undefined }, { url: 5 }, { alt: null }, { license: 7 }, { language: {} }]) {
      await expect(writer.write({ ...good, sampleId: 2n, ...bad } as unknown as Pair)).rejects.toThrow();
    }
    await writer.write({ ...good, sampleId: 3n });
    await writer.close();
    const back: Pair[] = [];
    for await (const pair of readPairs(path)) back.push(pair);
    expect(back.map((p) => p.sampleId)).toEqual([1n, 3n]);
  });

  it("takes the direct path with the parquetjs it was written against, encoding as it goes (else the tests above prove nothing)", async () => {
    expect(useFastPlainEncoder()).toBe("fast");
    const writer = await ParquetWriter.openFile(await pairsParquetSchema(), join(dir, "probe.parquet"), { rowGroupSize: 10_000, useDataPageV2: false });
    const put = fastShredder(writer, true);
    expect(put).toBeTypeOf("function");
    expect(put!({ sampleId: 1n, url: "https://a.example/x.jpg", alt: "an alt", pageUrl: "https://a.example/", language: "en" })).toBe(true);
    const columns = (writer as unknown as { rowBuffer: { columnData: Record<string, { values: unknown; rlevels: unknown; dlevels: unknown; distinct_values: unknown }> } }).rowBuffer.columnData;
    expect(columns.url!.values).toBeInstanceOf(PlainByteArrays);
    expect(columns.sample_id!.values).toBeInstanceOf(PlainInt64s);
    expect(columns.sample_id!.distinct_values).toBeInstanceOf(DistinctIds);
    expect(columns.url!.rlevels).toBeInstanceOf(ZeroLevels);
    expect(columns.url!.dlevels).toBeInstanceOf(ZeroLevels);
    // An optional column's definition levels are encoded, so they stay an array.
    expect(columns.language!.dlevels).toEqual([1]);
    await writer.close();
  });

  it("keeps arrays for v2 data pages, whose levels are encoded", async () => {
    const writer = await ParquetWriter.openFile(await pairsParquetSchema(), join(dir, "probe-v2.parquet"), { rowGroupSize: 10_000, useDataPageV2: true });
    const put = fastShredder(writer, true)!;
    expect(put({ sampleId: 1n, url: "u", alt: "a", pageUrl: "p" })).toBe(true);
    const columns = (writer as unknown as { rowBuffer: { columnData: Record<string, { values: unknown; rlevels: unknown }> } }).rowBuffer.columnData;
    expect(columns.url!.rlevels).toEqual([0]);
    expect(columns.url!.values).toEqual(["u"]);
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

  it("PlainByteArrays: values pushed one by one encode as encodeByteArrays encodes them all, across growth", () => {
    const values: (string | Uint8Array)[] = ["", "ascii", "größe 犬", "🐕 \ud800 lone", "y".repeat(100_000), Buffer.from("bytes"), "z".repeat(30_000)];
    const encoded = new PlainByteArrays();
    values.forEach((value, i) => expect(encoded.push(value)).toBe(i + 1));
    expect(encoded.length).toBe(values.length);
    expect(encoded.bytes().equals(reference(values))).toBe(true);
    expect(() => encoded.push(5)).toThrow(/string or bytes, not 5/);
    expect(() => encoded.push(null)).toThrow(/not null/);
    expect(encoded.length).toBe(values.length); // a refused value is not counted
  });

  it("PlainInt64s: the bytes parquetjs' INT64 encoder writes, bigints and integral numbers; other values refused", () => {
    expect(useFastPlainEncoder()).toBe("fast");
    const plain = createRequire(import.meta.resolve("@dsnp/parquetjs"))("@dsnp/parquetjs/dist/lib/codec/plain.js") as {
      encodeValues: (type: string, values: unknown[], opts?: unknown) => Buffer;
    };
    const values: (bigint | number)[] = [0n, 1n, -1n, 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n, 42, -7];
    const encoded = new PlainInt64s();
    for (let n = 0; n < 10_000; n++) values.push(BigInt(n) * 1_000_003n); // past the first buffer
    for (const value of values) encoded.push(value);
    expect(encoded.bytes().equals(plain.encodeValues("INT64", values))).toBe(true);
    // The wrapped encoder hands back the bytes as they are, for the right type only.
    expect(plain.encodeValues("INT64", encoded as never).equals(encoded.bytes())).toBe(true);
    expect(() => plain.encodeValues("BYTE_ARRAY", encoded as never)).toThrow(/PlainInt64s given for a BYTE_ARRAY column/);
    expect(() => encoded.push(1.5)).toThrow(/bigint or an integer, not 1.5/);
    expect(() => encoded.push("1")).toThrow(/not string/);
    expect(() => encoded.push(9_223_372_036_854_775_808n)).toThrow(RangeError);
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

describe("compact page buffers", () => {
  it("DistinctIds holds ids that count up by one as a range: size, membership, iteration", () => {
    const ids = new DistinctIds();
    expect(ids.size).toBe(0);
    expect([...ids]).toEqual([]);
    for (let id = 10n; id < 20n; id++) ids.add(id);
    ids.add(12n); // a repeat inside the range changes nothing
    expect(ids.size).toBe(10);
    expect(ids.has(10n) && ids.has(19n)).toBe(true);
    expect(ids.has(20n) || ids.has(9n) || ids.has(10)).toBe(false);
    expect([...ids]).toEqual(Array.from({ length: 10 }, (_, i) => 10n + BigInt(i)));
    const seen: unknown[] = [];
    ids.forEach((value, key, set) => {
      expect(key).toBe(value);
      expect(set).toBe(ids);
      seen.push(value);
    });
    expect(seen).toEqual([...ids]);
  });

  it("DistinctIds falls back to a Set when a value breaks the run, and answers as that Set would", () => {
    for (const breaker of [25n, 9n, 5, "x"] as unknown[]) {
      const ids = new DistinctIds();
      const reference = new Set<unknown>();
      for (const value of [1n, 2n, 3n, breaker, 4n, 2n, breaker, 30n]) {
        ids.add(value);
        reference.add(value);
      }
      expect(ids.size).toBe(reference.size);
      expect(new Set(ids)).toEqual(reference);
      for (const value of [1n, 3n, 4n, 30n, breaker, 31n]) expect(ids.has(value)).toBe(reference.has(value));
    }
  });

  it("ZeroLevels counts levels of 0 and refuses any other", () => {
    const levels = new ZeroLevels();
    expect(levels.push(0)).toBe(1);
    expect(levels.push(0)).toBe(2);
    expect(() => levels.push(1)).toThrow(/a level of 1/);
    expect(levels.length).toBe(2);
  });
});
