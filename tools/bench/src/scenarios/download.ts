// The download benchmark (issue 5): download.url jobs through a coordinator process and
// worker processes, side by side with aria2c at the same concurrency, both fetching from
// one loopback HTTP server. `download-large`: one big file; `download-small`:
// many small ones. The two tools take turns, the order flipped every round. The server is
// a child process; the benchmark's own process only submits and polls.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import type { BenchConfig } from "../config.ts";
import { Harness } from "../harness.ts";
import type { Row, ScenarioResult } from "../report.ts";
import { median } from "../stats.ts";

/** Issue 5's goals: Drover's time against aria2c's. */
const LARGE_VS_ARIA2 = 0.9;
const SMALL_VS_ARIA2 = 1.0;

/**
 * The file server, in a process of its own like a remote server: `/big.bin` from a file,
 * `/small/<n>.bin` from one buffer of `smallBytes`. Not in the benchmark's process, whose
 * event loop also polls for Drover's progress: that would slow the server for one tool only.
 */
const SERVER_SCRIPT = `
const http = require("node:http"), fs = require("node:fs"), crypto = require("node:crypto");
const [bigFile, smallBytes] = [process.argv[1], Number(process.argv[2])];
const small = crypto.randomBytes(smallBytes);
const server = http.createServer((req, res) => {
  if (bigFile && req.url === "/big.bin") {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": fs.statSync(bigFile).size });
    fs.createReadStream(bigFile, { highWaterMark: 1 << 20 }).pipe(res);
  } else if (req.url.startsWith("/small/")) {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": small.length }).end(small);
  } else res.writeHead(404).end();
});
server.keepAliveTimeout = 30000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

async function fileServer(bigFile: string | undefined, smallBytes: number): Promise<{ server: ChildProcess; origin: string }> {
  const server = spawn(process.execPath, ["-e", SERVER_SCRIPT, bigFile ?? "", String(smallBytes)], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await Promise.race([once(server.stdout!, "data"), once(server, "exit").then(() => { throw new Error("the file server exited at start"); })])) as [Buffer];
  return { server, origin: `http://127.0.0.1:${Number(line.toString().trim())}` };
}

function aria2Version(): string {
  const r = spawnSync("aria2c", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error("aria2c is not installed (Debian: apt-get install aria2); the download scenarios compare against it");
  return r.stdout.split("\n")[0]!.trim();
}

/** aria2c over a URL list at `concurrency` downloads at once, one connection each; wall seconds. */
async function aria2(listFile: string, outDir: string, concurrency: number): Promise<number> {
  mkdirSync(outDir, { recursive: true });
  const started = performance.now();
  const child = spawn(
    "aria2c",
    ["-i", listFile, "-d", outDir, "-j", String(concurrency), "-x", "1", "-s", "1", "--file-allocation=none", "--allow-overwrite=true", "--auto-file-renaming=false", "--console-log-level=error", "--summary-interval=0", "--download-result=hide", "--quiet=true"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, "close")) as [number | null];
  if (code !== 0) throw new Error(`aria2c exited with ${code}: ${stderr.trim().slice(0, 2000)}`);
  return (performance.now() - started) / 1000;
}

/** Submits one download.url job per URL into a fresh queue and waits for all; wall seconds from the first submit. */
async function drover(h: Harness, urls: string[], outDir: string, queue: string): Promise<number> {
  mkdirSync(outDir, { recursive: true });
  const dest = pathToFileURL(outDir).href + "/";
  const started = performance.now();
  const since = Date.now();
  for (let i = 0; i < urls.length; i += 5000) {
    await h.admin.jobs.submitBatch.mutate({ jobs: urls.slice(i, i + 5000).map((url) => ({ type: "download.url", queue, payload: { url, dest } })) });
  }
  const deadline = Date.now() + 1_800_000;
  while (h.probe.finishedSince(queue, since) < urls.length) {
    const failed = h.probe.failed();
    if (failed > 0) throw new Error(`${failed} download.url jobs failed`);
    if (Date.now() > deadline) throw new Error(`downloads not done after 30 minutes (${h.probe.finishedSince(queue, since)} of ${urls.length})`);
    await sleep(10);
  }
  return (performance.now() - started) / 1000;
}

function checkTree(dir: string, files: number, bytesEach: number | undefined, who: string): void {
  const names = readdirSync(dir);
  if (names.length !== files) throw new Error(`${who} left ${names.length} files in ${dir}, expected ${files}`);
  if (bytesEach !== undefined) for (const n of names) if (statSync(join(dir, n)).size !== bytesEach) throw new Error(`${who}: ${n} has the wrong size`);
}

async function writeRandomFile(file: string, bytes: number): Promise<string> {
  const hash = createHash("sha256");
  const out = createWriteStream(file);
  for (let left = bytes; left > 0; ) {
    const chunk = randomBytes(Math.min(left, 8 << 20));
    hash.update(chunk);
    left -= chunk.length;
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  return hash.digest("hex");
}

function downloadScenario(kind: "large" | "small") {
  return async (config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> => {
    const s = config.sizes.download;
    const name = `download-${kind}`;
    const version = aria2Version();
    const work = mkdtempSync(join(tmpdir(), `drover-bench-${name}-`));
    let server: ChildProcess | undefined;
    await using h = await Harness.start({ name });
    try {
      const bigFile = kind === "large" ? join(work, "big.bin") : undefined;
      if (bigFile) await writeRandomFile(bigFile, s.largeBytes);
      const served = await fileServer(bigFile, s.smallBytes);
      server = served.server;
      const urls = kind === "large" ? [`${served.origin}/big.bin`] : Array.from({ length: s.smallFiles }, (_, i) => `${served.origin}/small/${i}.bin`);
      const listFile = join(work, "urls.txt");
      writeFileSync(listFile, urls.join("\n") + "\n");
      const concurrency = kind === "large" ? 1 : s.concurrency;
      await h.startWorkers({ count: s.workers, concurrency: Math.ceil(concurrency / s.workers), types: ["download.url"] });
      const filesEach = kind === "large" ? s.largeBytes : s.smallBytes;
      log(`${name}: ${urls.length} × ${(filesEach / 1e6).toFixed(3)} MB, concurrency ${concurrency} (${s.workers} worker process(es) × ${Math.ceil(concurrency / s.workers)}); ${version}`);

      const run = async (who: "drover" | "aria2c", round: number): Promise<number> => {
        const out = join(work, `${who}-${round}`);
        const seconds = who === "aria2c" ? await aria2(listFile, out, concurrency) : await drover(h, urls, out, `dl-${round}`);
        checkTree(out, urls.length, filesEach, who);
        rmSync(out, { recursive: true, force: true });
        return seconds;
      };
      // A warm-up of each (page cache, JIT, connection set-up), not counted.
      const warm = { drover: await run("drover", 0), aria2c: await run("aria2c", 0) };
      log(`  warm-up: drover ${warm.drover.toFixed(2)} s, aria2c ${warm.aria2c.toFixed(2)} s`);
      const times = { drover: [] as number[], aria2c: [] as number[] };
      for (let i = 1; i <= s.repeats; i++) {
        const order = i % 2 === 1 ? (["drover", "aria2c"] as const) : (["aria2c", "drover"] as const);
        for (const who of order) times[who].push(await run(who, i));
        log(`  round ${i}: drover ${times.drover.at(-1)!.toFixed(2)} s, aria2c ${times.aria2c.at(-1)!.toFixed(2)} s`);
      }
      const droverSec = median(times.drover);
      const ariaSec = median(times.aria2c);
      const ratio = ariaSec / droverSec;
      const rows: Row[] =
        kind === "large"
          ? [
              { scenario: name, metric: `1 × ${(s.largeBytes / 1e9).toFixed(2)} GB through the coordinator, Drover`, value: s.largeBytes / 1e6 / droverSec, unit: "MB/s" },
              { scenario: name, metric: "same file, aria2c", value: s.largeBytes / 1e6 / ariaSec, unit: "MB/s" },
              { scenario: name, metric: "Drover vs aria2c (time ratio)", value: ratio, unit: "×", target: { op: ">=", bound: LARGE_VS_ARIA2 } },
            ]
          : [
              { scenario: name, metric: `${urls.length} × ${s.smallBytes / 1000} KB through the coordinator, Drover`, value: urls.length / droverSec, unit: "files/s" },
              { scenario: name, metric: `same files, aria2c -j ${concurrency}`, value: urls.length / ariaSec, unit: "files/s" },
              { scenario: name, metric: "Drover vs aria2c (time ratio)", value: ratio, unit: "×", target: { op: ">=", bound: SMALL_VS_ARIA2 } },
            ];
      return { name, rows, detail: { aria2: version, concurrency, workers: s.workers, files: urls.length, bytesEach: filesEach, seconds: times, warmup: warm, medianSeconds: { drover: droverSec, aria2c: ariaSec }, ratio } };
    } finally {
      server?.kill();
      rmSync(work, { recursive: true, force: true });
    }
  };
}

export const downloadLargeScenario = downloadScenario("large");
export const downloadSmallScenario = downloadScenario("small");
