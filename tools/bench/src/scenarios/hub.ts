// The dataset hub benchmark (issue 6): the coordinator's /hub file routes side by side with
// nginx (Debian) serving the same files from the same disk, fetched by the same client
// process at the same concurrency. `hub-large`: one big file; `hub-small`: many small ones;
// `hub-manifest`: a 100,000-file manifest. The two servers take turns, the order flipped
// every round. The client is a child process, so its event loop is nobody else's.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { chmodSync, closeSync, createWriteStream, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { BenchConfig } from "../config.ts";
import { Harness } from "../harness.ts";
import type { Row, ScenarioResult } from "../report.ts";
import { median, percentile, sortedCopy } from "../stats.ts";

/** Issue 6's goals. */
const VS_NGINX = 0.8;
const MANIFEST_MAX_MS = 1000;

/**
 * The client: GETs every URL of a list (one per line) with `concurrency` requests in
 * flight over keep-alive connections, reads each body to the end, checks its length, and
 * prints the wall seconds. Undici (Node's fetch) for both servers.
 */
const CLIENT_SCRIPT = `
const fs = require("node:fs");
const [listFile, concurrency, expectBytes, token] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const urls = fs.readFileSync(listFile, "utf8").split("\\n").filter(Boolean);
const headers = token ? { authorization: "Bearer " + token } : {};
let next = 0;
const started = performance.now();
async function worker() {
  while (next < urls.length) {
    const url = urls[next++];
    const res = await fetch(url, { headers });
    if (res.status !== 200) throw new Error(url + ": HTTP " + res.status);
    let n = 0;
    for await (const chunk of res.body) n += chunk.length;
    if (n !== expectBytes) throw new Error(url + ": " + n + " bytes, expected " + expectBytes);
  }
}
Promise.all(Array.from({ length: concurrency }, worker)).then(
  () => console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000 })),
  (e) => { console.error(e.message); process.exit(1); },
);
`;

async function fetchAll(listFile: string, concurrency: number, expectBytes: number, token = ""): Promise<number> {
  const child = spawn(process.execPath, ["-e", CLIENT_SCRIPT, listFile, String(concurrency), String(expectBytes), token], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, "close")) as [number | null];
  if (code !== 0) throw new Error(`the bench client failed: ${err.trim().slice(0, 2000)}`);
  return (JSON.parse(out) as { seconds: number }).seconds;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function nginxVersion(): string {
  const r = spawnSync("nginx", ["-v"], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error("nginx is not installed (Debian: apt-get install nginx-light); the hub scenarios compare against it");
  return (r.stderr || r.stdout).trim();
}

/** nginx as Debian ships it (worker_processes auto, sendfile on), serving `root` on loopback. */
async function startNginx(work: string, root: string): Promise<{ proc: ChildProcess; origin: string }> {
  const port = await freePort();
  const dir = join(work, "nginx");
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `daemon off;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server { listen 127.0.0.1:${port}; root ${root}; }
}
`,
  );
  const proc = spawn("nginx", ["-c", conf, "-p", dir], { stdio: ["ignore", "ignore", "pipe"] });
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited with ${proc.exitCode}`);
    const ok = await fetch(`${origin}/`).then(() => true, () => false);
    if (ok) return { proc, origin };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("nginx did not start");
}

function writeRandomFileSync(file: string, bytes: number): void {
  const fd = openSync(file, "w");
  try {
    for (let left = bytes; left > 0; ) {
      const chunk = randomBytes(Math.min(left, 8 << 20));
      writeSync(fd, chunk);
      left -= chunk.length;
    }
  } finally {
    closeSync(fd);
  }
}

/** A dataset in the hub over `file://dir` (public, a reader token too), its manifest computed. */
async function hubDataset(h: Harness, slug: string, dir: string): Promise<void> {
  await h.admin.projects.add.mutate({ slug: `bench-${slug}`, storageRoot: pathToFileURL(dir).href, workflow: { kind: "bash", script: "true" } }).catch(() => undefined);
  await h.admin.datasets.add.mutate({ project: `bench-${slug}`, slug, storagePrefix: pathToFileURL(dir).href, visibility: "public" });
  await h.admin.datasets.refreshManifest.mutate({ dataset: slug });
}

function filesScenario(kind: "large" | "small") {
  return async (config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> => {
    const s = config.sizes.hub;
    const name = `hub-${kind}`;
    const version = nginxVersion();
    const work = mkdtempSync(join(tmpdir(), `drover-bench-${name}-`));
    // nginx's workers drop to an unprivileged user when started as root: they must be able to read the files.
    chmodSync(work, 0o755);
    let nginx: ChildProcess | undefined;
    await using h = await Harness.start({ name });
    try {
      const data = join(work, "data", kind);
      mkdirSync(data, { recursive: true });
      const files = kind === "large" ? 1 : s.smallFiles;
      const bytesEach = kind === "large" ? s.largeBytes : s.smallBytes;
      if (kind === "large") writeRandomFileSync(join(data, "0.bin"), bytesEach);
      else {
        const body = randomBytes(bytesEach);
        for (let i = 0; i < files; i++) writeFileSync(join(data, `${i}.bin`), body);
      }
      await hubDataset(h, kind, data);
      const { token } = await h.admin.tokens.create.mutate({ name: "bench-reader", role: "reader" });
      const served = await startNginx(work, join(work, "data"));
      nginx = served.proc;
      const lists = {
        drover: join(work, "drover.txt"),
        nginx: join(work, "nginx.txt"),
      };
      writeFileSync(lists.drover, Array.from({ length: files }, (_, i) => `${h.url}/hub/datasets/${kind}/files/${i}.bin`).join("\n") + "\n");
      writeFileSync(lists.nginx, Array.from({ length: files }, (_, i) => `${served.origin}/${kind}/${i}.bin`).join("\n") + "\n");
      const concurrency = kind === "large" ? 1 : s.concurrency;
      log(`${name}: ${files} × ${(bytesEach / 1e6).toFixed(3)} MB, client concurrency ${concurrency}; ${version}`);
      const run = (who: "drover" | "nginx") => fetchAll(lists[who], concurrency, bytesEach, who === "drover" ? token : "");
      const warm = { drover: await run("drover"), nginx: await run("nginx") };
      log(`  warm-up: drover ${warm.drover.toFixed(2)} s, nginx ${warm.nginx.toFixed(2)} s`);
      const times = { drover: [] as number[], nginx: [] as number[] };
      for (let i = 1; i <= s.repeats; i++) {
        const order = i % 2 === 1 ? (["drover", "nginx"] as const) : (["nginx", "drover"] as const);
        for (const who of order) times[who].push(await run(who));
        log(`  round ${i}: drover ${times.drover.at(-1)!.toFixed(2)} s, nginx ${times.nginx.at(-1)!.toFixed(2)} s`);
      }
      const d = median(times.drover);
      const n = median(times.nginx);
      const rows: Row[] =
        kind === "large"
          ? [
              { scenario: name, metric: `1 × ${(bytesEach / 1e9).toFixed(2)} GB from /hub (file://), one client`, value: bytesEach / 1e6 / d, unit: "MB/s" },
              { scenario: name, metric: "same file, nginx", value: bytesEach / 1e6 / n, unit: "MB/s" },
              { scenario: name, metric: "hub vs nginx (time ratio)", value: n / d, unit: "×", target: { op: ">=", bound: VS_NGINX } },
            ]
          : [
              { scenario: name, metric: `${files} × ${bytesEach / 1000} KB from /hub, ${concurrency} in flight`, value: files / d, unit: "files/s" },
              { scenario: name, metric: "same files, nginx", value: files / n, unit: "files/s" },
              { scenario: name, metric: "hub vs nginx (time ratio)", value: n / d, unit: "×", target: { op: ">=", bound: VS_NGINX } },
            ];
      return { name, rows, detail: { nginx: version, concurrency, files, bytesEach, seconds: times, warmup: warm, medianSeconds: { drover: d, nginx: n }, ratio: n / d } };
    } finally {
      nginx?.kill("SIGTERM");
      rmSync(work, { recursive: true, force: true });
    }
  };
}

export const hubLargeScenario = filesScenario("large");
export const hubSmallScenario = filesScenario("small");

/** GET the manifest `samples` times one after another; ms each. */
async function timeGets(url: string, headers: Record<string, string>, samples: number, expectStatus: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    if (res.status !== expectStatus) throw new Error(`${url}: HTTP ${res.status}, expected ${expectStatus}`);
    out.push(performance.now() - t0);
  }
  return out;
}

export async function hubManifestScenario(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const s = config.sizes.hub;
  const name = "hub-manifest";
  const work = mkdtempSync(join(tmpdir(), `drover-bench-${name}-`));
  await using h = await Harness.start({ name });
  try {
    // Many files of a few bytes in 100 folders: what matters is the count.
    const data = join(work, "many");
    for (let d = 0; d < 100; d++) mkdirSync(join(data, `d${d}`), { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < s.manifestFiles; i++) {
      const out = createWriteStream(join(data, `d${i % 100}`, `file-${i}.txt`));
      writes.push(new Promise((resolve, reject) => out.end(`${i}\n`, () => resolve()).on("error", reject)));
      if (writes.length >= 256) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    const t0 = performance.now();
    await hubDataset(h, "many", data);
    const refreshSeconds = (performance.now() - t0) / 1000;
    log(`${name}: ${s.manifestFiles} files; manifest computed in ${refreshSeconds.toFixed(1)} s`);
    const url = `${h.url}/hub/datasets/many/manifest`;
    // Cold: the first request after a change builds the body; each refresh below adds a
    // file, so every cold sample rebuilds it.
    const cold: number[] = [];
    for (let i = 0; i < s.manifestSamples; i++) {
      writeFileSync(join(data, `extra-${i}.txt`), "x");
      await h.admin.datasets.refreshManifest.mutate({ dataset: "many" });
      cold.push(...(await timeGets(url, {}, 1, 200)));
    }
    const warm = await timeGets(url, {}, s.manifestSamples * 3, 200);
    const res = await fetch(url);
    const etag = res.headers.get("etag")!;
    const bytes = (await res.arrayBuffer()).byteLength;
    const revalidate = await timeGets(url, { "if-none-match": etag }, s.manifestSamples * 3, 304);
    const dsx = await timeGets(`${h.url}/dsx/manifest/many`, { authorization: `Bearer ${(await h.admin.tokens.create.mutate({ name: "dsx", role: "reader" })).token}` }, s.manifestSamples, 200);
    log(`  cold median ${median(cold).toFixed(0)} ms, warm ${median(warm).toFixed(0)} ms, 304 ${median(revalidate).toFixed(1)} ms, body ${(bytes / 1e6).toFixed(1)} MB`);
    const rows: Row[] = [
      { scenario: name, metric: `${s.manifestFiles}-file manifest, first GET after a refresh (median)`, value: median(cold), unit: "ms", target: { op: "<=", bound: MANIFEST_MAX_MS } },
      { scenario: name, metric: "same, served from the manifest cache (median)", value: median(warm), unit: "ms", target: { op: "<=", bound: MANIFEST_MAX_MS } },
      { scenario: name, metric: "same, If-None-Match → 304 (median)", value: median(revalidate), unit: "ms" },
      { scenario: name, metric: "DSX /manifest, cached (median)", value: median(dsx), unit: "ms" },
    ];
    return {
      name,
      rows,
      detail: {
        files: s.manifestFiles,
        bodyBytes: bytes,
        refreshSeconds,
        ms: { cold, warm, revalidate, dsx },
        p95: { cold: percentile(sortedCopy(cold), 95), warm: percentile(sortedCopy(warm), 95) },
      },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
