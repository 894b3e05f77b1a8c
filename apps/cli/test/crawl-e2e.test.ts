import { startTestCoordinator } from "@drover/coordinator/testing";
import { writeWat } from "@drover/fixtures";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { until } from "./support.ts";
import { seedShards } from "../src/crawl/seed.ts";

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "../bin/drover.mjs");
const SHARDS = 4;


describe("crawl end to end: seed → crawl.wat → crawl.images with worker processes, one SIGKILLed", () => {
  it("ends with every shard and every images job succeeded exactly once, and every pair counted once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drover-crawl-e2e-"));
    // The images the WATs point at, from a loopback server (never anything else).
    const jpeg = await sharp(randomBytes(320 * 240 * 3), { raw: { width: 320, height: 240, channels: 3 } }).jpeg().toBuffer();
    const images = createServer((req, res) => {
      if (!req.url?.startsWith("/img/")) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "image/jpeg", "content-length": jpeg.length }).end(jpeg);
    });
    images.listen(0, "127.0.0.1");
    await once(images, "listening");
    const origin = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;

    let pairs = 0;
    const paths: string[] = [];
    for (let i = 0; i < SHARDS; i++) {
      const { expected } = await writeWat(join(dir, `shard-${i}.wat.gz`), { pages: 12, seed: 100 + i, imageOrigin: origin });
      pairs += expected.pairs;
      paths.push(`shard-${i}.wat.gz`);
    }
    await writeFile(join(dir, "wat.paths"), paths.join("\n"));

    await using t = await startTestCoordinator({ reaperIntervalMs: 200, retryBaseMs: 50 });
    const seeded = await seedShards(t.admin, { paths: join(dir, "wat.paths"), baseUrl: `file://${dir}`, outputRoot: `file://${dir}/out/`, idsPerShard: 10_000, pieces: 1, leaseSeconds: 4 });
    expect(seeded.submitted).toBe(SHARDS);

    const workers: ChildProcess[] = [];
    const startWorker = async (name: string): Promise<ChildProcess> => {
      const { token } = await t.admin.tokens.create.mutate({ name, role: "worker" });
      const child = spawn(process.execPath, [BIN, "worker", "--coordinator", t.coordinator.url, "--token", token, "--name", name, "--types", "crawl.wat,crawl.images", "--concurrency", "2", "--log-level", "warn"], { stdio: ["ignore", "ignore", "inherit"] });
      workers.push(child);
      return child;
    };
    try {
      // The victim starts alone and is SIGKILLed as soon as it holds a lease: that shard's
      // lease must expire and the shard run again elsewhere, once.
      const victim = await startWorker("victim");
      await until("the victim to hold a lease", async () => (await t.admin.workers.list.query()).find((w) => w.name === "victim" && w.activeLeases > 0));
      victim.kill("SIGKILL");
      await startWorker("alice");
      await startWorker("bob");

      const wats = await until("every shard done", async () => {
        const { jobs } = await t.admin.jobs.list.query({ type: "crawl.wat" });
        return jobs.length === SHARDS && jobs.every((j) => j.status === "succeeded") ? jobs : undefined;
      });
      const withPairs = wats.filter((j) => ((j.result as { pairs?: number } | null)?.pairs ?? 0) > 0).length;
      const imageJobs = await until("every images job done", async () => {
        const { jobs } = await t.admin.jobs.list.query({ type: "crawl.images" });
        return jobs.length === withPairs && jobs.every((j) => j.status === "succeeded") ? jobs : undefined;
      });
      expect(imageJobs.every((j) => wats.some((w) => w.id === j.parentId))).toBe(true);

      for (const job of [...wats, ...imageJobs]) {
        const kinds = (await t.admin.jobs.events.query({ id: job.id })).map((e) => e.kind);
        expect(kinds.filter((k) => k === "succeeded"), `job ${job.id}: ${kinds.join(",")}`).toHaveLength(1);
      }
      // The victim's shards (it may have leased two) expired and ran again, each still once.
      const expired = await Promise.all(wats.map(async (j) => (await t.admin.jobs.events.query({ id: j.id })).some((e) => e.kind === "expired")));
      expect(expired.filter(Boolean).length).toBeGreaterThanOrEqual(1);

      const byType = await t.admin.workers.countersByType.query();
      expect(byType.find((r) => r.type === "crawl.wat")?.counts.pairs).toBe(pairs);
      expect(byType.find((r) => r.type === "crawl.images")?.counts.images).toBe(pairs);
      const board = await t.admin.workers.leaderboard.query({ by: "pairs" });
      // The killed worker completed nothing, so it counts nothing.
      expect(board.some((r) => r.name === "victim")).toBe(false);
      expect(board.reduce((n, r) => n + (r.counts.pairs ?? 0), 0)).toBe(pairs);
    } finally {
      for (const w of workers) w.kill("SIGKILL");
      images.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
