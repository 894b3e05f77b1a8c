// crawl.images against a real HTTP server on loopback and the memory storage backend. The
// images are made with sharp here; nothing leaves 127.0.0.1.
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ParquetReader } from "@dsnp/parquetjs";
import { openStorage, type Storage } from "@drover/storage";
import sharp, { type Sharp } from "sharp";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobContext, SpawnJob } from "../src/define.ts";
import { offlineCoordinator } from "../src/offline.ts";
import { imagesJob } from "../src/crawl/images.ts";
import { imagesPayload, type ImagesPayload, type ImagesResult } from "../src/crawl/images.spec.ts";
import { writePairs, type Pair } from "../src/crawl/pairs-parquet.ts";
import { builtinSpecs } from "../src/specs.ts";
import { builtinJobTypes } from "../src/builtin/index.ts";

const dir = mkdtempSync(join(tmpdir(), "drover-images-"));
const bucket = `images-${process.pid}-${Date.now()}`;
const UA = "DroverTest/1.0";
const TIMEOUT_MS = 1_000;

/** The plugin contract, with everything the job reports collected for assertions. */
class TestContext<P> implements JobContext<P> {
  readonly maxAttempts = 3;
  readonly leaseId = "test-lease";
  readonly coordinator = offlineCoordinator();
  readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  readonly progresses: { fraction: number; message?: string | undefined }[] = [];
  readonly logs: string[] = [];
  readonly counts: Record<string, number> = {};
  readonly spawned: SpawnJob[] = [];
  constructor(
    readonly payload: P,
    readonly jobId: number,
    readonly attempt: number,
    readonly workDir: string,
  ) {}
  progress(fraction: number, message?: string): void {
    this.progresses.push({ fraction, message });
  }
  log(line: string): void {
    this.logs.push(line);
  }
  count(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }
  spawn(job: SpawnJob): void {
    this.spawned.push(job);
  }
}

function noise(width: number, height: number, channels: 3 | 4 = 3): Sharp {
  const raw = Buffer.alloc(width * height * channels);
  for (let i = 0; i < raw.length; i++) raw[i] = (Math.random() * 256) | 0;
  return sharp(raw, { raw: { width, height, channels } });
}

/** Routes of the loopback server: path → handler. */
const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
const seen: { path: string; userAgent: string | undefined }[] = [];
let server: Server;
let base: string;
/** A loopback port nothing listens on (bound, then closed). */
let closedPort: number;

function serve(path: string, body: Buffer | string, contentType: string): void {
  routes.set(path, (_req, res) => {
    res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
}

beforeAll(async () => {
  const clear = Buffer.alloc(120 * 120 * 4);
  for (let i = 0; i < clear.length; i++) clear[i] = i % 4 === 3 ? 0 : (Math.random() * 256) | 0; // colour noise, alpha 0
  const [jpeg, png, webp, rotated, tiny, huge, gif, transparent] = await Promise.all([
    noise(320, 240).jpeg().toBuffer(),
    noise(200, 300, 4).png().toBuffer(), // with alpha: flattened onto white
    noise(256, 256).webp().toBuffer(),
    noise(320, 240).withMetadata({ orientation: 6 }).jpeg().toBuffer(), // shown as 240×320
    noise(16, 16).jpeg().toBuffer(),
    // 100 MP of one colour: a few hundred KB of PNG, well past the 89.5 MP default.
    sharp({ create: { width: 10_000, height: 10_000, channels: 3, background: "#336699" } }).png().toBuffer(),
    noise(200, 200).gif().toBuffer(),
    sharp(clear, { raw: { width: 120, height: 120, channels: 4 } }).png().toBuffer(),
  ]);
  serve("/clear.png", transparent, "image/png");
  serve("/a.jpg", jpeg, "image/jpeg");
  serve("/b.png", png, "image/png");
  serve("/c.webp", webp, "image/webp");
  serve("/rotated.jpg", rotated, "image/jpeg");
  serve("/tiny.jpg", tiny, "image/jpeg");
  serve("/huge.png", huge, "image/png");
  serve("/anim.gif", gif, "image/gif");
  serve("/logo.svg", `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><!-- ${"x".repeat(8000)} --><rect width="400" height="400" fill="red"/></svg>`, "image/svg+xml");
  serve("/page.html", `<!doctype html><html><body>${"<p>not an image</p>".repeat(600)}</body></html>`, "text/html");
  // A JPEG cut in half: the header is fine, the decode is not.
  serve("/truncated.jpg", jpeg.subarray(0, Math.floor(jpeg.length / 2)), "image/jpeg");
  routes.set("/redirect", (_req, res) => {
    res.writeHead(302, { location: "/a.jpg" });
    res.end();
  });
  routes.set("/gone", (_req, res) => {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  });
  routes.set("/error", (_req, res) => {
    res.writeHead(503);
    res.end();
  });
  // No headers for longer than the deadline.
  routes.set("/slow", (_req, res) => {
    const t = setTimeout(() => res.end(jpeg), 10 * TIMEOUT_MS);
    res.on("close", () => clearTimeout(t));
  });
  // Headers at once, then the body trickles: the deadline covers the body too.
  routes.set("/trickle", (_req, res) => {
    res.writeHead(200, { "content-type": "image/jpeg" });
    res.write(jpeg.subarray(0, 100));
    const t = setTimeout(() => res.end(jpeg.subarray(100)), 10 * TIMEOUT_MS);
    res.on("close", () => clearTimeout(t));
  });
  // 3 MB with no content-length: the cap (2 MB in the test) stops the read.
  routes.set("/endless", (_req, res) => {
    res.writeHead(200, { "content-type": "image/jpeg" });
    const chunk = Buffer.alloc(64 * 1024, 0xff);
    let sent = 0;
    const write = (): void => {
      while (sent < 3 * 1024 * 1024) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", write);
      }
      res.end();
    };
    write();
  });
  // Says it is huge up front: refused without reading the body.
  routes.set("/declared-huge", (_req, res) => {
    res.writeHead(200, { "content-type": "image/jpeg", "content-length": String(50 * 1024 * 1024) });
    res.write(Buffer.alloc(1024));
  });

  server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    seen.push({ path, userAgent: req.headers["user-agent"] });
    const route = routes.get(path) ?? routes.get("/gone")!;
    route(req, res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

interface Row {
  path: string;
  outcome: "ok" | "timeout" | "httpError" | "tooSmall" | "tooBig" | "undecodable";
  /** Original width × height, for ok rows. */
  size?: [number, number];
}

const ROWS: Row[] = [
  { path: "/a.jpg", outcome: "ok", size: [320, 240] },
  { path: "/b.png", outcome: "ok", size: [200, 300] },
  { path: "/c.webp", outcome: "ok", size: [256, 256] },
  { path: "/rotated.jpg", outcome: "ok", size: [240, 320] },
  { path: "/redirect", outcome: "ok", size: [320, 240] },
  { path: "/clear.png", outcome: "ok", size: [120, 120] }, // fully transparent: comes out white
  { path: "/gone", outcome: "httpError" },
  { path: "/error", outcome: "httpError" },
  { path: "ftp://127.0.0.1/a.jpg", outcome: "httpError" },
  { path: "file:///etc/passwd", outcome: "httpError" },
  { path: "CLOSED", outcome: "httpError" }, // connection refused
  { path: "/slow", outcome: "timeout" },
  { path: "/trickle", outcome: "timeout" },
  { path: "/tiny.jpg", outcome: "tooSmall" },
  { path: "/huge.png", outcome: "tooBig" },
  { path: "/endless", outcome: "tooBig" },
  { path: "/declared-huge", outcome: "tooBig" },
  { path: "/page.html", outcome: "undecodable" },
  { path: "/anim.gif", outcome: "undecodable" },
  { path: "/logo.svg", outcome: "undecodable" },
  { path: "/truncated.jpg", outcome: "undecodable" },
];

const FIRST_ID = 9_007_199_254_740_993n; // 2^53 + 1: ids must survive as exact integers
const urlOf = (path: string): string => (path === "CLOSED" ? `http://127.0.0.1:${closedPort}/closed-port.jpg` : path.startsWith("/") ? base + path : path);

function pairOf(row: Row, i: number): Pair {
  return {
    sampleId: FIRST_ID + BigInt(i),
    url: urlOf(row.path),
    alt: `alt text ${i}: ${row.path} — «ünïcode»`,
    pageUrl: `https://example.org/page/${i}`,
    ...(i % 2 === 0 ? { license: "https://creativecommons.org/licenses/by/4.0/" } : {}),
    ...(i % 3 === 0 ? { language: "en" } : {}),
  };
}

/** Writes a pairs file and puts it into the memory storage; returns its URL. */
async function putPairs(name: string, pairs: Pair[]): Promise<string> {
  const local = join(dir, `${name}.parquet`);
  const writer = await writePairs(local);
  for (const pair of pairs) await writer.write(pair);
  await writer.close();
  const storage = await openStorage(`memory://${bucket}/in/`);
  await storage.write(`${name}.parquet`, { file: local });
  await storage.close();
  return `memory://${bucket}/in/${name}.parquet`;
}

async function readTar(bytes: Uint8Array): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      files.set(entry.header.name, Buffer.concat(chunks));
    }
  })();
  extract.end(Buffer.from(bytes));
  await done;
  return files;
}

function newContext(payload: unknown, jobId: number, attempt = 1): TestContext<ImagesPayload> {
  const workDir = mkdtempSync(join(dir, `job-${jobId}-`));
  return new TestContext(imagesPayload.parse(payload), jobId, attempt, workDir);
}

async function keysUnder(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of storage.list(prefix)) keys.push(entry.key);
  return keys.sort();
}

describe("crawl.images", () => {
  it("is registered: the spec for the coordinator, the runner for workers", () => {
    expect(builtinSpecs.map((s) => s.name)).toContain("crawl.images");
    expect(builtinJobTypes.find((t) => t.name === "crawl.images")).toBe(imagesJob);
  });

  it("loads no native image code when the package is imported (the coordinator's view)", () => {
    // A fresh process: imports @drover/jobs' index, then lists the shared objects it loaded.
    const script = `await import(${JSON.stringify(resolve(import.meta.dirname, "../src/index.ts"))});
      const libs = process.report.getReport().sharedObjects;
      console.log(JSON.stringify(libs.filter((l) => /sharp|vips/.test(l))));`;
    const tsx = resolve(import.meta.dirname, "../../../node_modules/.bin/tsx");
    const out = execFileSync(tsx, ["--conditions=@drover/source", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(JSON.parse(out.trim().split("\n").at(-1)!)).toEqual([]);
  });

  it("fills in the documented defaults and refuses unknown options", () => {
    const p = imagesPayload.parse({ pairs: "memory://x/p.parquet", outputRoot: "memory://x/out" });
    expect(p.options).toMatchObject({ size: 224, concurrency: 16, timeoutMs: 10_000, minBytes: 5120, maxBytes: 20 * 1024 * 1024, maxPixels: 89_478_485, shardSize: 10_000 });
    expect(p.options.userAgent).toMatch(/DroverBot/);
    expect(imagesPayload.safeParse({ pairs: "a/b.parquet", outputRoot: "o", options: { sise: 10 } }).success).toBe(false);
  });

  it("downloads, classifies every pair, writes shards and the success Parquet, then uploads them", async () => {
    const pairs = ROWS.map(pairOf);
    const url = await putPairs("main", pairs);
    const size = 64;
    const ctx = newContext({ pairs: url, outputRoot: `memory://${bucket}/out`, options: { size, concurrency: 6, timeoutMs: TIMEOUT_MS, userAgent: UA, maxBytes: 2 * 1024 * 1024, shardSize: 2 } }, 42, 2);
    const result: ImagesResult = await imagesJob.run(ctx);

    const expected = { ok: 0, timeout: 0, httpError: 0, tooSmall: 0, tooBig: 0, undecodable: 0 };
    for (const row of ROWS) expected[row.outcome]++;
    expect({ ...result, artifacts: undefined }).toEqual({ ...expected, total: ROWS.length, artifacts: undefined });
    expect(expected).toEqual({ ok: 6, timeout: 2, httpError: 5, tooSmall: 1, tooBig: 3, undecodable: 4 });
    expect(ctx.counts).toEqual({ images: 6 });
    // Each failure for the reason we meant (the first five of each outcome are logged).
    const why = (path: string): string | undefined => ctx.logs.find((l) => l.includes(`${urlOf(path)}: `));
    expect(why("/huge.png")).toMatch(/^tooBig: .*10000×10000 pixels > 89478485/);
    expect(why("/endless")).toMatch(/^tooBig: .*more than 2097152 bytes/);
    expect(why("/declared-huge")).toMatch(/^tooBig: .*content-length 52428800/);
    expect(why("/anim.gif")).toMatch(/^undecodable: .*format gif/);
    expect(why("/logo.svg")).toMatch(/^undecodable: .*format svg/);
    expect(why("/page.html")).toMatch(/^undecodable: .*unsupported image format/);
    expect(why("/truncated.jpg")).toMatch(/^undecodable: .*premature end/i);
    expect(why("/gone")).toMatch(/^httpError: .*HTTP 404/);
    expect(why("/error")).toMatch(/^httpError: .*HTTP 503/);
    expect(why("CLOSED")).toMatch(/^httpError: .*ECONNREFUSED/);
    expect(why("file:///etc/passwd")).toMatch(/^httpError: .*not an http\(s\) URL/);
    expect(why("/trickle")).toMatch(/^timeout: /);
    expect(ctx.spawned).toEqual([]);
    expect(ctx.progresses.at(-1)).toMatchObject({ fraction: 1 });
    expect(ctx.progresses.every((p, i) => i === 0 || p.fraction >= ctx.progresses[i - 1]!.fraction)).toBe(true);

    // Only http(s) was requested, each with our user agent.
    expect(seen.every((s) => s.userAgent === UA)).toBe(true);
    expect(seen.some((s) => s.path.includes("passwd") || s.path.includes("closed-port"))).toBe(false);

    // 6 samples, 2 per shard: 00000.tar, 00001.tar, 00002.tar, then the Parquet last.
    const out = await openStorage(`memory://${bucket}/out/`);
    try {
      const names = ["00000.tar", "00001.tar", "00002.tar", "images.parquet"];
      expect(result.artifacts.map((a) => a.url)).toEqual(names.map((n) => `memory://${bucket}/out/42/2/${n}`));
      expect(await keysUnder(out, "")).toEqual(names.map((n) => `42/2/${n}`));

      const samples = new Map<string, Buffer>();
      for (const [i, artifact] of result.artifacts.entries()) {
        const bytes = await out.read(`42/2/${names[i]}`);
        expect(bytes.byteLength).toBe(artifact.size);
        expect(artifact.sha256).toBe((await import("node:crypto")).createHash("sha256").update(bytes).digest("hex"));
        if (names[i]!.endsWith(".tar")) {
          const files = await readTar(bytes);
          expect([...files.keys()].map((n) => n.split(".")[1])).toEqual(["jpg", "txt", "json", "jpg", "txt", "json"]);
          for (const [name, data] of files) samples.set(name, data);
        }
      }

      const okRows = ROWS.map((row, i) => ({ row, pair: pairs[i]! })).filter(({ row }) => row.outcome === "ok");
      expect([...samples.keys()].sort()).toEqual(okRows.flatMap(({ pair }) => ["jpg", "json", "txt"].map((ext) => `${pair.sampleId}.${ext}`)).sort());
      for (const { row, pair } of okRows) {
        const key = pair.sampleId.toString();
        const meta = await sharp(samples.get(`${key}.jpg`)!).metadata();
        expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", size, size]);
        if (row.path === "/clear.png") {
          const { channels } = await sharp(samples.get(`${key}.jpg`)!).stats();
          expect(channels.map((c) => c.mean).every((m) => m > 250)).toBe(true);
        }
        expect(samples.get(`${key}.txt`)!.toString("utf8")).toBe(pair.alt);
        const jsonText = samples.get(`${key}.json`)!.toString("utf8");
        expect(jsonText.startsWith(`{"sample_id":${key},`)).toBe(true); // exact, not rounded
        expect(JSON.parse(jsonText)).toMatchObject({
          url: pair.url,
          alt: pair.alt,
          page_url: pair.pageUrl,
          license: pair.license ?? null,
          language: pair.language ?? null,
          width: row.size![0],
          height: row.size![1],
        });
      }

      // The success Parquet: the pairs columns plus the original's width and height.
      const local = join(dir, "images.parquet");
      writeFileSync(local, await out.read("42/2/images.parquet"));
      const reader = await ParquetReader.openFile(local);
      const got: Record<string, unknown>[] = [];
      const cursor = reader.getCursor();
      for (let r = await cursor.next(); r; r = await cursor.next()) got.push(r as Record<string, unknown>);
      await reader.close();
      const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number => (BigInt(a.sample_id as bigint) < BigInt(b.sample_id as bigint) ? -1 : 1);
      expect(
        got.sort(byId).map((r) => ({ ...r, sample_id: BigInt(r.sample_id as bigint), license: r.license ?? undefined, language: r.language ?? undefined })),
      ).toEqual(
        okRows.map(({ row, pair }) => ({
          sample_id: pair.sampleId,
          url: pair.url,
          alt: pair.alt,
          page_url: pair.pageUrl,
          license: pair.license,
          language: pair.language,
          width: row.size![0],
          height: row.size![1],
        })),
      );
    } finally {
      await out.close();
    }
  });

  it("uploads nothing when the job is aborted midway", async () => {
    // Good images first, then slow ones that are still running when the abort comes.
    const rows: Row[] = [...Array.from({ length: 4 }, () => ({ path: "/a.jpg", outcome: "ok" as const })), ...Array.from({ length: 8 }, () => ({ path: "/slow", outcome: "timeout" as const }))];
    const url = await putPairs("aborted", rows.map(pairOf));
    const ctx = newContext({ pairs: url, outputRoot: `memory://${bucket}/aborted-out/`, options: { concurrency: 4, timeoutMs: 5_000, shardSize: 2 } }, 7);
    const reason = new Error("lease lost");
    // Abort as soon as the first pair is done: the slow ones are still in flight then.
    const report = ctx.progress.bind(ctx);
    ctx.progress = (fraction, message) => {
      report(fraction, message);
      if (fraction > 0) setImmediate(() => ctx.controller.abort(reason));
    };
    await expect(imagesJob.run(ctx)).rejects.toBe(reason);
    // Midway: some pairs were done, not all.
    expect(ctx.progresses.some((p) => p.fraction > 0 && p.fraction < 1)).toBe(true);
    expect(ctx.progresses.some((p) => p.fraction === 1)).toBe(false);
    const out = await openStorage(`memory://${bucket}/aborted-out/`);
    try {
      expect(await keysUnder(out, "")).toEqual([]);
    } finally {
      await out.close();
    }
    expect(ctx.counts).toEqual({});
  });

  it("succeeds with no shards and an empty success Parquet when no image made it", async () => {
    const url = await putPairs("none-ok", [pairOf({ path: "/gone", outcome: "httpError" }, 0), pairOf({ path: "/tiny.jpg", outcome: "tooSmall" }, 1)]);
    const ctx = newContext({ pairs: url, outputRoot: `memory://${bucket}/none-ok-out` }, 9);
    const result = await imagesJob.run(ctx);
    expect({ ...result, artifacts: undefined }).toEqual({ ok: 0, timeout: 0, httpError: 1, tooSmall: 1, tooBig: 0, undecodable: 0, total: 2, artifacts: undefined });
    expect(result.artifacts.map((a) => a.url)).toEqual([`memory://${bucket}/none-ok-out/9/1/images.parquet`]);
    expect(ctx.counts).toEqual({ images: 0 });
  });

  it("fails for good when the pairs file does not exist", async () => {
    const ctx = newContext({ pairs: `memory://${bucket}/in/missing.parquet`, outputRoot: `memory://${bucket}/none/` }, 8);
    await expect(imagesJob.run(ctx)).rejects.toMatchObject({ name: "NonRetryableError", code: "INPUT_NOTFOUND" });
  });
});
