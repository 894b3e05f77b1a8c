import { startTestCoordinator } from "@drover/coordinator/testing";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { seedShards } from "../src/crawl/seed.ts";
import { crawlStatus } from "../src/crawl/status.ts";

type WatPayload = { shard: string; startId: number | string; endId: number | string; piece?: number };

describe("drover crawl seed", () => {
  it("submits one job per half-shard with non-overlapping id ranges; a re-run adds nothing; a later run continues the numbering", async () => {
    await using t = await startTestCoordinator();
    const dir = await mkdtemp(join(tmpdir(), "drover-seed-"));
    const paths = ["crawl-data/CC-MAIN-2024-22/a.warc.wat.gz", "crawl-data/CC-MAIN-2024-22/b.warc.wat.gz", "# a comment", "", "crawl-data/CC-MAIN-2024-22/c.warc.wat.gz"];
    await writeFile(join(dir, "wat.paths.gz"), gzipSync(paths.join("\n")));
    const options = { paths: join(dir, "wat.paths.gz"), baseUrl: "https://data.example/", outputRoot: "memory://out/", idsPerShard: 1000, pieces: 2 as const };

    const first = await seedShards(t.admin, options);
    expect(first).toMatchObject({ shards: 3, submitted: 6, deduplicated: 0, firstId: 0, endId: 6000 });
    const jobs = (await t.admin.jobs.list.query({ type: "crawl.wat" })).jobs.map((j) => j.payload as WatPayload).sort((a, b) => Number(a.startId) - Number(b.startId));
    expect(jobs.map((p) => [Number(p.startId), Number(p.endId)])).toEqual([[0, 1000], [1000, 2000], [2000, 3000], [3000, 4000], [4000, 5000], [5000, 6000]]);
    expect(jobs.map((p) => `${p.shard.slice(-13)}#${p.piece}`)).toEqual(["a.warc.wat.gz#0", "a.warc.wat.gz#1", "b.warc.wat.gz#0", "b.warc.wat.gz#1", "c.warc.wat.gz#0", "c.warc.wat.gz#1"]);

    const again = await seedShards(t.admin, options);
    expect(again).toMatchObject({ submitted: 0, deduplicated: 6 });
    expect((await t.admin.jobs.list.query({ type: "crawl.wat" })).jobs).toHaveLength(6);

    await writeFile(join(dir, "more.paths"), "crawl-data/CC-MAIN-2024-22/d.warc.wat.gz\n");
    const more = await seedShards(t.admin, { ...options, paths: join(dir, "more.paths"), pieces: 1 });
    expect(more.submitted).toBe(1);
    expect(more.firstId!).toBeGreaterThanOrEqual(6000);

    const status = await crawlStatus(t.admin);
    expect(status.shards).toEqual({ total: 7, done: 0, failed: 0, running: 0, queued: 7 });
    expect(status.etaMs).toBeNull();
    await rm(dir, { recursive: true, force: true });
  });
});
