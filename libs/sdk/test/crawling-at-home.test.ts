import { startTestCoordinator } from "@drover/coordinator/testing";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { CrawlingAtHomeClient, NoJobError } from "../src/index.ts";

describe("CrawlingAtHomeClient (the seed's verbs over the typed client and storage)", () => {
  it("init → jobCount → newJob → downloadShard → log → uploadData → bye, against a real coordinator", async () => {
    // acceptUnknownTypes: the client is generic over the crawl.wat payload's fields.
    await using t = await startTestCoordinator({ acceptUnknownTypes: true });
    const dir = await mkdtemp(join(tmpdir(), "drover-cah-"));
    const wat = "WARC/1.0\r\nWARC-Type: warcinfo\r\n\r\nhello\r\n";
    await mkdir(join(dir, "shards"));
    await writeFile(join(dir, "shards/a.wat.gz"), gzipSync(wat));
    const { token } = await t.admin.tokens.create.mutate({ name: "volunteer", role: "worker" });
    await t.admin.jobs.submit.mutate({
      type: "crawl.wat",
      payload: { shard: `file://${dir}/shards/a.wat.gz`, startId: "9007199254740993", endId: "9007199254741992", piece: 1, outputRoot: `file://${dir}/out` },
    });

    const client = await CrawlingAtHomeClient.init(t.coordinator.url, token, { nickname: "ada" });
    expect(await client.jobCount()).toBe(1);
    await client.newJob();
    expect(client.startId).toBe(9007199254740993n); // past 2^53: kept exact as bigint
    expect(client.endId).toBe(9007199254741992n);
    expect(client.piece).toBe(1);
    expect(await client.jobCount()).toBe(0);

    const path = await client.downloadShard(join(dir, "work/shard.wat"));
    expect(await readFile(path, "utf8")).toBe(wat);
    await client.log("parsed 10 of 20 records", 0.5);
    const jobId = client.jobId!;
    expect((await t.admin.jobs.get.query({ id: jobId })).progress).toEqual({ fraction: 0.5, message: "parsed 10 of 20 records" });

    await mkdir(join(dir, "results"));
    await writeFile(join(dir, "results/pairs.parquet"), "not really parquet");
    const up = await client.uploadData(join(dir, "results"), { pairs: 1234 });
    expect(up.url).toBe(`file://${dir}/out/${jobId}/1/`);
    expect(await readdir(join(dir, `out/${jobId}/1`))).toEqual(["pairs.parquet"]);
    expect((await t.admin.jobs.get.query({ id: jobId })).status).toBe("succeeded");
    expect(await t.admin.workers.leaderboard.query({ by: "pairs" })).toEqual([{ name: "ada", jobs: 1, counts: { pairs: 1234 } }]);

    await expect(client.newJob()).rejects.toBeInstanceOf(NoJobError);
    await expect(client.log("no job")).rejects.toBeInstanceOf(NoJobError);
    await client.bye();
    expect((await t.admin.workers.list.query()).find((w) => w.name === "ada")?.status).toBe("gone");
    await rm(dir, { recursive: true, force: true });
  });

  it("newJob gives back the job it held, and bye releases a held job at once", async () => {
    await using t = await startTestCoordinator({ acceptUnknownTypes: true });
    const { token } = await t.admin.tokens.create.mutate({ name: "v", role: "worker" });
    const { id } = await t.admin.jobs.submit.mutate({ type: "crawl.wat", payload: { shard: "https://x.invalid/a", startId: 0, endId: 9, outputRoot: "memory://o/" } });
    const client = await CrawlingAtHomeClient.init(t.coordinator.url, token, { nickname: "bob" });
    await client.newJob();
    expect(client.jobId).toBe(id);
    // The only job: newJob releases it first, then takes it again as a new attempt.
    await client.newJob();
    expect((await t.admin.jobs.get.query({ id })).attempts).toBe(2);
    await client.bye();
    expect((await t.admin.jobs.get.query({ id })).status).toBe("queued");
  });
});
