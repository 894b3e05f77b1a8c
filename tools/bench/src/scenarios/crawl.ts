// The crawl benchmark (issue 4). `crawl-wat`: the crawl.wat runner, in this process, on a
// generated gzip WAT, taking turns with `zcat FILE > /dev/null` on the same file: once as the
// machine runs them (crawl.wat inflates on a libuv thread, so it uses more than one core), and
// once with this process (every thread) and zcat pinned to the same single core, the issue's
// "on one core". `crawl-images`:
// the crawl.images runner, in this process, against a loopback HTTP server serving one JPEG for
// every /img/ path. Both call the job type's `run` with a JobContext of no-ops: the plugin
// contract, no worker, no coordinator.
import { writeWat } from "@drover/fixtures";
import { builtinJobTypes, offlineCoordinator, writePairs, type JobContext, type JobType } from "@drover/jobs";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { BenchConfig } from "../config.ts";
import type { Row, ScenarioResult } from "../report.ts";
import { median } from "../stats.ts";

/** Issue 4's goal: parsing a gzip WAT at least half as fast as zcat inflates it. */
const PARSE_VS_ZCAT = 0.5;

function jobType(name: string): JobType {
  const type = builtinJobTypes.find((t) => t.name === name);
  if (type === undefined) throw new Error(`no built-in job type '${name}'`);
  return type;
}

let nextJobId = 1;
/** The plugin contract with nothing behind it: progress, logs, counters and spawns are dropped. */
function context(type: JobType, input: unknown, workDir: string): JobContext<unknown> {
  mkdirSync(workDir, { recursive: true });
  return {
    jobId: nextJobId++,
    attempt: 1,
    leaseId: "bench",
    coordinator: offlineCoordinator(),
    maxAttempts: 1,
    payload: type.payload.parse(input),
    signal: new AbortController().signal,
    workDir,
    progress: () => {},
    log: () => {},
    count: () => {},
    spawn: () => {},
  };
}

/** Seconds of wall time and of this process's CPU (user + system, all threads) for `fn`. */
async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; cpuSeconds: number; value: T }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await fn();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, value };
}

/** `zcat file > /dev/null`, start-up included; wall seconds. */
async function zcat(file: string): Promise<number> {
  const devNull = openSync("/dev/null", "w");
  try {
    const started = performance.now();
    const child = spawn("zcat", [file], { stdio: ["ignore", devNull, "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, "close")) as [number | null];
    if (code !== 0) throw new Error(`zcat ${file} exited with ${code}: ${stderr.trim()}`);
    return (performance.now() - started) / 1000;
  } finally {
    closeSync(devNull);
  }
}

const mbps = (bytes: number, seconds: number): number => bytes / 1e6 / seconds;

/**
 * Pins every thread of this process (main, libuv pool, V8's helpers) to `core` with taskset;
 * threads made later inherit it, and so do children (zcat). Returns the undo.
 */
function pinProcess(core: number): () => void {
  const taskset = (...args: string[]): string => execFileSync("taskset", args, { encoding: "utf8" });
  const mask = /mask: ([0-9a-f]+)/.exec(taskset("-p", String(process.pid)))?.[1];
  if (mask === undefined) throw new Error("taskset -p printed no affinity mask");
  taskset("-a", "-p", "-c", String(core), String(process.pid));
  return () => void taskset("-a", "-p", mask, String(process.pid));
}

export async function crawlWatScenario(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const s = config.sizes.crawl;
  const work = mkdtempSync(join(tmpdir(), "drover-bench-crawl-wat-"));
  try {
    const shard = join(work, "bench.wat.gz");
    const gen = await timed(() => writeWat(shard, { targetBytes: s.watBytes, seed: 1 }));
    const { bytes, captures, expected } = gen.value;
    log(`crawl-wat: generated ${(bytes / 1e6).toFixed(1)} MB (${captures} captures, ${expected.pairs} pairs expected) in ${gen.seconds.toFixed(1)} s`);
    if (statSync(shard).size !== bytes) throw new Error(`generated shard is ${statSync(shard).size} bytes, expected ${bytes}`);

    const wat = jobType("crawl.wat");
    const outputRoot = pathToFileURL(join(work, "out")).href + "/";
    const runWat = async (i: number) => {
      const workDir = join(work, `job-${i}`);
      const ctx = context(wat, { shard: pathToFileURL(shard).href, startId: 0, endId: 1e15, outputRoot, options: { spawnImages: false } }, workDir);
      try {
        const r = await timed(async () => (await wat.run(ctx)) as { pairs: number; records: number });
        if (r.value.pairs !== expected.pairs) throw new Error(`crawl.wat kept ${r.value.pairs} pairs, the generator put in ${expected.pairs}`);
        return r;
      } finally {
        rmSync(workDir, { recursive: true, force: true });
        rmSync(join(work, "out"), { recursive: true, force: true });
      }
    };

    // The first run loads warcio, parquetjs, eld and the storage backend and JIT-compiles
    // the parser; it is reported apart, not counted in the median.
    const first = await runWat(0);
    log(`  first run (cold): ${first.seconds.toFixed(2)} s, ${mbps(bytes, first.seconds).toFixed(1)} MB/s`);
    const free = { parse: [] as { seconds: number; cpuSeconds: number }[], zcat: [] as number[] };
    const pinned = { parse: [] as { seconds: number; cpuSeconds: number }[], zcat: [] as number[] };
    const core = availableParallelism() - 1;
    for (let i = 0; i < s.repeats; i++) {
      // Taking turns, the order flipped every round: drift in machine speed hits both.
      const order = i % 2 === 0 ? (["parse", "zcat"] as const) : (["zcat", "parse"] as const);
      for (const [mode, runs] of [["free", free], ["pinned", pinned]] as const) {
        const restore = mode === "pinned" ? pinProcess(core) : undefined;
        try {
          for (const who of order) {
            if (who === "zcat") runs.zcat.push(await zcat(shard));
            else {
              const r = await runWat(i + 1);
              runs.parse.push({ seconds: r.seconds, cpuSeconds: r.cpuSeconds });
            }
          }
        } finally {
          restore?.();
        }
      }
      log(`  round ${i + 1}: crawl.wat ${free.parse.at(-1)!.seconds.toFixed(2)} s, zcat ${free.zcat.at(-1)!.toFixed(2)} s; on core ${core} alone: crawl.wat ${pinned.parse.at(-1)!.seconds.toFixed(2)} s, zcat ${pinned.zcat.at(-1)!.toFixed(2)} s`);
    }
    const summary = (runs: typeof free) => {
      const parseSec = median(runs.parse.map((p) => p.seconds));
      const zcatSec = median(runs.zcat);
      return { parseSec, zcatSec, cpuSec: median(runs.parse.map((p) => p.cpuSeconds)), parseMbPerSec: mbps(bytes, parseSec), zcatMbPerSec: mbps(bytes, zcatSec), ratio: zcatSec / parseSec };
    };
    const runDetails = (runs: typeof free) => ({
      parseRuns: runs.parse.map((r) => ({ ...r, mbPerSec: mbps(bytes, r.seconds) })),
      zcatRuns: runs.zcat.map((seconds) => ({ seconds, mbPerSec: mbps(bytes, seconds) })),
    });
    const m = summary(free);
    const p = summary(pinned);
    const scenario = "crawl.wat, gzip WAT";
    const label = `${(bytes / 1e6).toFixed(0)} MB`;
    const rows: Row[] = [
      { scenario, metric: `crawl.wat on one core (all threads pinned), ${label}, median of ${s.repeats}`, value: p.parseMbPerSec, unit: "MB/s" },
      { scenario, metric: `zcat > /dev/null on the same core, same file, median of ${s.repeats}`, value: p.zcatMbPerSec, unit: "MB/s" },
      { scenario, metric: "crawl.wat / zcat on one core (throughput ratio)", value: p.ratio, unit: "×", target: { op: ">=", bound: PARSE_VS_ZCAT } },
      { scenario, metric: `crawl.wat unpinned, median of ${s.repeats}`, value: m.parseMbPerSec, unit: "MB/s" },
      { scenario, metric: `zcat unpinned, median of ${s.repeats}`, value: m.zcatMbPerSec, unit: "MB/s" },
      { scenario, metric: "crawl.wat / zcat unpinned (throughput ratio)", value: m.ratio, unit: "×" },
      { scenario, metric: "crawl.wat pairs kept per second (median unpinned run)", value: expected.pairs / m.parseSec, unit: "pairs/s" },
      { scenario, metric: "crawl.wat CPU / wall unpinned (median run; inflate runs on a libuv thread)", value: m.cpuSec / m.parseSec, unit: "cores" },
      { scenario, metric: "first run (cold) minus warm median: module loading + JIT", value: first.seconds - m.parseSec, unit: "s" },
    ];
    return {
      name: "crawl-wat",
      rows,
      detail: {
        shard: { bytes, captures, records: expected.records, metadataRecords: expected.metadataRecords, pages: expected.pages, pairs: expected.pairs, seed: 1, generateSec: gen.seconds },
        repeats: s.repeats,
        firstRun: { seconds: first.seconds, cpuSeconds: first.cpuSeconds, mbPerSec: mbps(bytes, first.seconds) },
        core,
        unpinned: { ...runDetails(free), median: m },
        pinned: { ...runDetails(pinned), median: p },
        target: PARSE_VS_ZCAT,
      },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A JPEG of random pixels (so it does not compress away), comfortably above crawl.images' 5 KiB minimum. */
async function benchJpeg(): Promise<Buffer> {
  const { default: sharp } = await import("sharp");
  const side = 256;
  const pixels = Buffer.alloc(side * side * 3);
  let x = 12345;
  for (let i = 0; i < pixels.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    pixels[i] = x >>> 24;
  }
  return sharp(pixels, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

export async function crawlImagesScenario(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const s = config.sizes.crawl;
  const work = mkdtempSync(join(tmpdir(), "drover-bench-crawl-images-"));
  const jpeg = await benchJpeg();
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (req.url?.startsWith("/img/")) {
      res.writeHead(200, { "content-type": "image/jpeg", "content-length": jpeg.byteLength });
      res.end(jpeg);
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const pairsPath = join(work, "pairs.parquet");
    const writer = await writePairs(pairsPath);
    for (let i = 0; i < s.images; i++) {
      await writer.write({ sampleId: BigInt(i), url: `${origin}/img/${i}.jpg`, alt: `bench image number ${i}`, pageUrl: `${origin}/page/${i >> 4}.html` });
    }
    await writer.close();

    const images = jobType("crawl.images");
    const outputRoot = pathToFileURL(join(work, "out")).href + "/";
    const runImages = async (i: number) => {
      const workDir = join(work, `job-${i}`);
      const ctx = context(images, { pairs: pathToFileURL(pairsPath).href, outputRoot, options: {} }, workDir);
      try {
        const r = await timed(async () => (await images.run(ctx)) as { ok: number; total: number });
        if (r.value.ok !== s.images) throw new Error(`crawl.images wrote ${r.value.ok} of ${s.images} images: ${JSON.stringify(r.value)}`);
        return r;
      } finally {
        rmSync(workDir, { recursive: true, force: true });
        rmSync(join(work, "out"), { recursive: true, force: true });
      }
    };
    const concurrency = (images.payload.parse({ pairs: "x", outputRoot: "y" }) as { options: { concurrency: number } }).options.concurrency;
    log(`crawl-images: ${s.images} distinct URLs on ${origin}, one ${(jpeg.byteLength / 1024).toFixed(0)} KiB 256×256 JPEG, concurrency ${concurrency} (the default)`);
    const first = await runImages(0);
    log(`  first run (cold): ${first.seconds.toFixed(2)} s, ${(s.images / first.seconds).toFixed(0)} images/s`);
    const runs: { seconds: number; cpuSeconds: number }[] = [];
    for (let i = 0; i < s.repeats; i++) {
      const r = await runImages(i + 1);
      runs.push({ seconds: r.seconds, cpuSeconds: r.cpuSeconds });
      log(`  run ${i + 1}: ${r.seconds.toFixed(2)} s, ${(s.images / r.seconds).toFixed(0)} images/s`);
    }
    const sec = median(runs.map((r) => r.seconds));
    const scenario = "crawl.images, loopback";
    return {
      name: "crawl-images",
      rows: [
        { scenario, metric: `${s.images} images (256² JPEG → 224² JPEG), concurrency ${concurrency}, median of ${s.repeats}`, value: s.images / sec, unit: "images/s" },
        { scenario, metric: "CPU / wall (median run; server in this process too)", value: median(runs.map((r) => r.cpuSeconds)) / sec, unit: "cores" },
        { scenario, metric: "first run (cold) minus warm median: module loading", value: first.seconds - sec, unit: "s" },
      ],
      detail: {
        images: s.images,
        jpegBytes: jpeg.byteLength,
        concurrency,
        requests,
        firstRun: { seconds: first.seconds, cpuSeconds: first.cpuSeconds },
        runs: runs.map((r) => ({ ...r, imagesPerSec: s.images / r.seconds })),
        median: { seconds: sec, imagesPerSec: s.images / sec },
      },
    };
  } finally {
    server.close();
    server.closeAllConnections();
    rmSync(work, { recursive: true, force: true });
  }
}
