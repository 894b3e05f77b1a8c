// crawl.wat against real files: WATs made by @drover/fixtures (whose expectation comes from
// the generator's own bookkeeping, not from this parser), the real Common Crawl fixture in
// shared/, memory:// and file:// storage, and a loopback HTTP server. The JobContext below is
// the plugin contract filled with arrays, not a mock of anything that exists.
import { generateWat, REAL_WAT_PATH, type WatExpectation } from "@drover/fixtures";
import { openStorage, sha256Hex } from "@drover/storage";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { gunzipSync, gzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NonRetryableError, offlineCoordinator, type JobContext, type SpawnJob } from "../src/index.ts";
import { readPairs, type Pair } from "../src/crawl/pairs-parquet.ts";
import { watJob } from "../src/crawl/wat.ts";
import type { WatStats } from "../src/crawl/wat.ts";
import type { WatPayload } from "../src/crawl/wat.spec.ts";

const REAL_WAT = REAL_WAT_PATH;
const dir = mkdtempSync(join(tmpdir(), "drover-wat-"));
let shardPath: string;
let gzip: Buffer;
let expected: WatExpectation;

beforeAll(async () => {
  ({ gzip, expected } = await generateWat({ pages: 400, seed: 42 }));
  shardPath = join(dir, "shard.wat.gz");
  writeFileSync(shardPath, gzip);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  ctx: JobContext<WatPayload>;
  progress: { fraction: number; message?: string }[];
  logs: string[];
  counts: Record<string, number>;
  spawned: SpawnJob[];
}

let nextJobId = 1;
function makeRun(input: Record<string, unknown>, signal = new AbortController().signal): Run {
  const run: Omit<Run, "ctx"> = { progress: [], logs: [], counts: {}, spawned: [] };
  const workDir = mkdtempSync(join(dir, "work-"));
  const ctx: JobContext<WatPayload> = {
    jobId: nextJobId++,
    attempt: 1,
    leaseId: "test-lease",
    coordinator: offlineCoordinator(),
    maxAttempts: 3,
    payload: watJob.payload.parse(input),
    signal,
    workDir,
    progress: (fraction, message) => run.progress.push({ fraction, ...(message === undefined ? {} : { message }) }),
    log: (line) => run.logs.push(line),
    count: (name, n = 1) => (run.counts[name] = (run.counts[name] ?? 0) + n),
    spawn: (job) => run.spawned.push(job),
  };
  return { ...run, ctx };
}

/** run() may return a value or a promise; the tests want a promise. */
async function runWat(ctx: JobContext<WatPayload>) {
  return watJob.run(ctx);
}

function memoryRoot(): string {
  return `memory://wat-${randomBytes(4).toString("hex")}/runs`;
}

/** Everything under a storage URL, by key. */
async function listKeys(root: string): Promise<string[]> {
  const storage = await openStorage(root);
  try {
    const keys: string[] = [];
    for await (const entry of storage.list("")) keys.push(entry.key);
    return keys;
  } finally {
    await storage.close();
  }
}

/** Downloads an uploaded pairs file and reads it back. */
async function pairsAt(outputRoot: string, key: string): Promise<Pair[]> {
  const storage = await openStorage(outputRoot);
  const local = join(dir, `read-${randomBytes(4).toString("hex")}.parquet`);
  try {
    writeFileSync(local, await storage.read(key));
  } finally {
    await storage.close();
  }
  const rows: Pair[] = [];
  for await (const row of readPairs(local)) rows.push(row);
  return rows;
}

async function statsAt(outputRoot: string, key: string): Promise<WatStats> {
  const storage = await openStorage(outputRoot);
  try {
    return JSON.parse(Buffer.from(await storage.read(key)).toString("utf8")) as WatStats;
  } finally {
    await storage.close();
  }
}

const pairKey = (p: { url: string; alt: string }) => `${p.url}\n${p.alt}`;

describe("crawl.wat on a generated shard", () => {
  it("keeps exactly the pairs the generator put in, resolved, with licence and language, ids from startId", async () => {
    expect(expected.keptComplete).toBe(true);
    expect(expected.pairs).toBeGreaterThan(500);
    const outputRoot = memoryRoot();
    const run = makeRun({ shard: `file://${shardPath}`, startId: 1000, endId: 1_000_000, outputRoot });
    const result = await runWat(run.ctx);

    expect(result.pairs).toBe(expected.pairs);
    expect(result).toMatchObject({ firstId: "1000", lastId: String(1000 + expected.pairs - 1), images: expected.images, duplicates: expected.duplicates, pages: expected.pages });
    const prefix = `${run.ctx.jobId}/1/`;
    const rows = await pairsAt(outputRoot, `${prefix}pairs.parquet`);
    expect(rows.map((r) => r.sampleId)).toEqual(rows.map((_, i) => 1000n + BigInt(i)));
    expect(rows.map((r) => ({ url: r.url, alt: r.alt, pageUrl: r.pageUrl, license: r.license }))).toEqual(
      expected.kept.map((e) => ({ url: e.url, alt: e.alt, pageUrl: e.pageUrl, license: e.license })),
    );
    // Language: every clear sentence is detected as its language; labels like "logo" are not claimed.
    const clear = expected.kept.map((e, i) => [e.language, rows[i]!.language] as const).filter(([want]) => want !== undefined);
    expect(clear.length).toBeGreaterThan(300);
    expect(clear.filter(([want, got]) => want !== got)).toEqual([]);
    for (const lang of ["en", "de", "fr", "es", "ja", "ru"]) expect(clear.some(([want]) => want === lang)).toBe(true);

    const stats = await statsAt(outputRoot, `${prefix}stats.json`);
    expect(stats).toMatchObject({
      records: expected.records,
      metadataRecords: expected.metadataRecords,
      pieceRecords: expected.metadataRecords,
      pages: expected.pages,
      links: expected.links,
      images: expected.images,
      kept: expected.pairs,
      duplicates: expected.duplicates,
      licensed: expected.licensed,
      dropped: { ...expected.dropped, altTooShort: 0 },
      badRecords: 0,
      bytesRead: gzip.length,
    });
    expect(Object.values(stats.languages).reduce((a, b) => a + b, 0)).toBe(expected.pairs);
    expect(run.counts).toEqual({ pairs: expected.pairs });
    expect(run.progress.at(-1)?.fraction).toBe(1);
  });

  it("uploads both artifacts under outputRoot/<jobId>/<attempt>/ and queues crawl.images with the parquet's URL", async () => {
    const outputRoot = memoryRoot();
    const run = makeRun({ shard: shardPath, startId: "0", endId: "100000", outputRoot, images: { size: 256 } });
    const result = await runWat(run.ctx);
    const prefix = `${run.ctx.jobId}/1/`;
    expect((await listKeys(outputRoot)).sort()).toEqual([`${prefix}pairs.parquet`, `${prefix}stats.json`]);
    expect(result.pairsFile.url).toBe(`${outputRoot}/${prefix}pairs.parquet`);
    expect(result.statsFile.url).toBe(`${outputRoot}/${prefix}stats.json`);
    const storage = await openStorage(outputRoot);
    const bytes = await storage.read(`${prefix}pairs.parquet`);
    await storage.close();
    expect(result.pairsFile).toMatchObject({ size: bytes.byteLength, sha256: sha256Hex(bytes) });

    expect(run.spawned).toHaveLength(1);
    expect(run.spawned[0]).toMatchObject({ type: "crawl.images", payload: { pairs: result.pairsFile.url, outputRoot, options: { size: 256 } } });
    expect(result.spawned).toBe(true);
  });

  it("splits into two pieces that are disjoint and together give the whole shard", async () => {
    const whole = memoryRoot();
    const wholeRun = makeRun({ shard: shardPath, startId: 0, endId: 10_000, outputRoot: whole });
    await runWat(wholeRun.ctx);
    const all = await pairsAt(whole, `${wholeRun.ctx.jobId}/1/pairs.parquet`);

    const pieces: Pair[][] = [];
    for (const piece of [0, 1] as const) {
      const outputRoot = memoryRoot();
      const run = makeRun({ shard: shardPath, startId: 0, endId: 10_000, piece, outputRoot });
      const result = await runWat(run.ctx);
      expect(result.pairs).toBe(expected.pieces[piece]);
      pieces.push(await pairsAt(outputRoot, `${run.ctx.jobId}/1/pairs.parquet`));
    }
    const [p0, p1] = pieces.map((rows) => new Set(rows.map(pairKey))) as [Set<string>, Set<string>];
    expect([...p0].filter((k) => p1.has(k))).toEqual([]);
    expect(new Set([...p0, ...p1])).toEqual(new Set(all.map(pairKey)));
    expect(p0.size + p1.size).toBe(expected.pairs);
    expect(pieces[0]!.map(pairKey)).toEqual(expected.kept.filter((e) => e.piece === 0).map(pairKey));
  });

  it("numbers past 2^53 exactly and fills the range to its last id", async () => {
    const start = 2n ** 60n + 1n;
    const end = start + BigInt(expected.pairs);
    const outputRoot = memoryRoot();
    const run = makeRun({ shard: shardPath, startId: start.toString(), endId: end.toString(), outputRoot });
    const result = await runWat(run.ctx);
    expect(result.lastId).toBe((end - 1n).toString());
    const rows = await pairsAt(outputRoot, `${run.ctx.jobId}/1/pairs.parquet`);
    expect(rows[0]!.sampleId).toBe(start);
    expect(rows.at(-1)!.sampleId).toBe(end - 1n);
  });

  it("fails for good, naming the counts, when the id range is too small; nothing is uploaded", async () => {
    const outputRoot = memoryRoot();
    const run = makeRun({ shard: shardPath, startId: 10, endId: 110, outputRoot });
    const error = await runWat(run.ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as NonRetryableError).code).toBe("ID_RANGE_TOO_SMALL");
    expect((error as Error).message).toContain(`holds 100 ids but the shard has ${expected.pairs} pairs`);
    expect(await listKeys(outputRoot)).toEqual([]);
    expect(run.spawned).toEqual([]);
  });

  it("reads the shard over http(s), streamed", async () => {
    await using server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/gzip", "content-length": String(gzip.length) });
      res.end(gzip);
    });
    const outputRoot = memoryRoot();
    const run = makeRun({ shard: `${server.url}/shard.wat.gz`, startId: 0, endId: 100_000, outputRoot });
    const result = await runWat(run.ctx);
    expect(result.pairs).toBe(expected.pairs);
  });

  it("fails for good on an HTTP 404, and retryably on a 503", async () => {
    await using server = await serve((req, res) => {
      res.writeHead(req.url === "/gone" ? 404 : 503);
      res.end();
    });
    const gone = await runWat(makeRun({ shard: `${server.url}/gone`, startId: 0, endId: 1, outputRoot: memoryRoot() }).ctx).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(NonRetryableError);
    const busy = await runWat(makeRun({ shard: `${server.url}/busy`, startId: 0, endId: 1, outputRoot: memoryRoot() }).ctx).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(Error);
    expect(busy).not.toBeInstanceOf(NonRetryableError);
  });

  it("fails retryably (not as a corrupt file) when the download stops short", async () => {
    await using server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(gzip.length) });
      res.write(gzip.subarray(0, Math.floor(gzip.length * 0.6)), () => res.destroy());
    });
    const outputRoot = memoryRoot();
    const error = await runWat(makeRun({ shard: `${server.url}/cut`, startId: 0, endId: 100_000, outputRoot }).ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect(await listKeys(outputRoot)).toEqual([]);
  });

  it("stops when the job's signal aborts mid-stream, uploading nothing", async () => {
    await using server = await serve((_req, res) => {
      // Half the file, then silence: only the abort can end this job.
      res.writeHead(200, { "content-length": String(gzip.length) });
      res.write(gzip.subarray(0, gzip.length >> 1));
    });
    const ac = new AbortController();
    const outputRoot = memoryRoot();
    const run = makeRun({ shard: `${server.url}/slow`, startId: 0, endId: 100_000, outputRoot }, ac.signal);
    setTimeout(() => ac.abort(new Error("lease lost")), 300);
    await expect(runWat(run.ctx)).rejects.toThrow();
    expect(await listKeys(outputRoot)).toEqual([]);
  });
});

describe("crawl.wat on real and damaged input", () => {
  it("reads the real Common Crawl WAT fixture: zero pairs, no error, nothing spawned", async () => {
    const outputRoot = memoryRoot();
    const run = makeRun({ shard: REAL_WAT, startId: 0, endId: 10, outputRoot });
    const result = await runWat(run.ctx);
    expect(result).toMatchObject({ pairs: 0, firstId: null, lastId: null, records: 1, pages: 0, spawned: false });
    expect(run.spawned).toEqual([]);
    const stats = await statsAt(outputRoot, `${run.ctx.jobId}/1/stats.json`);
    expect(stats).toMatchObject({ records: 2, metadataRecords: 1, kept: 0 });
  });

  it.each([
    ["truncated mid-member", () => gzip.subarray(0, Math.floor(gzip.length * 0.6))],
    ["cut right after a gzip header", () => gzip.subarray(0, 10)],
    ["with corrupt bytes inside a member", () => corrupt(gzip, Math.floor(gzip.length / 2))],
    ["neither gzip nor WARC", () => Buffer.from("<html>not a WAT</html>\n")],
  ])("fails for good on a shard %s, leaving nothing under outputRoot", async (_name, bytes) => {
    const path = join(dir, `bad-${randomBytes(4).toString("hex")}.wat.gz`);
    writeFileSync(path, bytes());
    const outputRoot = memoryRoot();
    const run = makeRun({ shard: path, startId: 0, endId: 100_000, outputRoot });
    const error = await runWat(run.ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as NonRetryableError).code).toBe("CORRUPT_SHARD");
    expect(await listKeys(outputRoot)).toEqual([]);
    expect(run.spawned).toEqual([]);
  });

  it.each([
    ["an uncompressed WAT", () => gunzipSync(gzip)],
    ["a WAT gzipped as one member", () => gzipSync(gunzipSync(gzip))],
  ])("reads %s the same way", async (_name, bytes) => {
    const path = join(dir, `other-${randomBytes(4).toString("hex")}.wat`);
    writeFileSync(path, bytes());
    const result = await runWat(makeRun({ shard: path, startId: 0, endId: 100_000, outputRoot: memoryRoot() }).ctx);
    expect(result.pairs).toBe(expected.pairs);
  });

  it("fails for good when the shard does not exist", async () => {
    const error = await runWat(makeRun({ shard: join(dir, "missing.wat.gz"), startId: 0, endId: 1, outputRoot: memoryRoot() }).ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as Error).message).toContain("missing.wat.gz");
  });
});

describe("crawl.wat payload", () => {
  const base = { shard: "s3://bucket/x.wat.gz", outputRoot: "s3://bucket/out" };
  it("takes ids as numbers or decimal strings and keeps them as strings", () => {
    expect(watJob.payload.parse({ ...base, startId: 5, endId: "9223372036854775807" })).toMatchObject({ startId: "5", endId: "9223372036854775807" });
    expect(watJob.payload.parse({ ...base, startId: 0, endId: 0 }).options).toEqual({ excludeExtensions: ["svg", "gif"], minAltLength: 1, detectLanguage: true, spawnImages: true });
  });
  it.each([
    [{ startId: 10, endId: 5 }, "endId"],
    [{ startId: "9223372036854775808", endId: "9223372036854775809" }, "startId"],
    [{ startId: -1, endId: 5 }, "startId"],
    [{ startId: 1.5, endId: 5 }, "startId"],
    [{ startId: 0, endId: 5, piece: 2 }, "piece"],
  ])("refuses %j", (ids, field) => {
    const r = watJob.payload.safeParse({ ...base, ...ids });
    expect(r.success).toBe(false);
    expect(r.error?.issues.some((i) => i.path[0] === field)).toBe(true);
  });
  it("re-parses its own output unchanged (the coordinator stores the parsed payload)", () => {
    const once = watJob.payload.parse({ ...base, startId: 1, endId: 2, options: { excludeExtensions: ["SVG"] } });
    expect(watJob.payload.parse(once)).toEqual(once);
  });
});

function corrupt(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  for (let i = 0; i < 64; i++) copy[at + i] = copy[at + i]! ^ 0x5a;
  return copy;
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; [Symbol.asyncDispose](): Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
