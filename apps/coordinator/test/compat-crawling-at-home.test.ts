// The Crawling@Home server API as an unmodified client 1.5 calls it (plain fetch, shaped as
// /work/shared/COMPAT.md describes), against a real coordinator on loopback. crawl.wat and
// crawl.gpu payloads are validated by their built-in specs (no acceptUnknownTypes).
import { openStorage } from "@drover/storage";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCoordinatorConfig } from "../src/config.ts";
import { startTestCoordinator, type TestCoordinator } from "./helpers.ts";
import { eventKinds, sleep, statusBecomes } from "./support.ts";

const UPLOAD = "127.0.0.1::cah-uploads";
const start = (overrides = {}) => startTestCoordinator({ crawlCompat: true, crawlUploadAddress: UPLOAD, ...overrides });

interface Answer {
  status: number;
  text: string;
  type: string;
  json<T = unknown>(): T;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  return { status: res.status, text, type: res.headers.get("content-type") ?? "", json: <T>() => JSON.parse(text) as T };
}

/** The old client's calls: GETs with a query, POSTs with a JSON body (requests' `json=`). */
function cah(t: TestCoordinator) {
  const base = `${t.coordinator.url}/api/`;
  return {
    get: async (path: string, query: Record<string, string> = {}) => answer(await fetch(`${base}${path}?${new URLSearchParams(query)}`)),
    post: async (path: string, body: unknown, contentType = "application/json") =>
      answer(await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": contentType }, body: typeof body === "string" ? body : JSON.stringify(body) })),
    async register(nickname: string, type: string): Promise<string> {
      const r = await this.get("new", { nickname, type });
      expect(r.status).toBe(200);
      return r.json<{ token: string }>().token;
    },
  };
}

type JobAnswer = { url: string; start_id: number; end_id: number; shard: number; number: number };

const wat = (shard: string, extra: Record<string, unknown> = {}) => ({ type: "crawl.wat", payload: { shard, startId: 1000, endId: 2000, outputRoot: "file:///tmp/drover-cah-out", ...extra } });

describe("Crawling@Home API: HYBRID", () => {
  it("runs a full cycle: new, validate, count, newJob, shard download, progress, done, leaderboard, bye", async () => {
    await using t = await start();
    const api = cah(t);
    const shardBytes = randomBytes(100_000);
    const shards = await openStorage(`file://${join(t.dir, "shards")}/`);
    await shards.write("CC-MAIN-0001.warc.wat.gz", shardBytes);
    const { id } = await t.admin.jobs.submit.mutate(wat(`file://${join(t.dir, "shards", "CC-MAIN-0001.warc.wat.gz")}`, { piece: 1 }));

    const created = await api.get("new", { nickname: "alice", type: "HYBRID" });
    expect(created.status).toBe(200);
    const { token, ...rest } = created.json<{ token: string; display_name: string; upload_address: string }>();
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(rest).toEqual({ display_name: "alice", upload_address: UPLOAD });
    expect((await api.post("validateWorker", { token, type: "HYBRID" })).text).toBe("True");
    expect((await api.post("validateWorker", { token: "0".repeat(32), type: "HYBRID" })).text).toBe("False");
    expect((await api.get("getUploadAddress")).text).toBe(UPLOAD);
    expect((await api.get("jobCount", { type: "HYBRID" })).text).toBe("1");
    expect((await api.get("jobCount", { type: "GPU" })).text).toBe("0");

    const job = await api.post("newJob", { token, type: "HYBRID" });
    expect(job.status).toBe(200);
    expect(job.json()).toEqual({ url: `${t.coordinator.url}/api/shard/${id}`, start_id: 1000, end_id: 2000, shard: 1, number: id });
    expect((await api.get("jobCount", { type: "HYBRID" })).text).toBe("0");

    const download = await fetch(job.json<JobAnswer>().url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(shardBytes)).toBe(true);
    expect((await fetch(job.json<JobAnswer>().url, { method: "HEAD" })).headers.get("content-length")).toBe(String(shardBytes.length));
    const part = await fetch(job.json<JobAnswer>().url, { headers: { range: "bytes=10-19" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 10-19/${shardBytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(shardBytes.subarray(10, 20))).toBe(true);

    expect((await api.post("updateProgress", { token, progress: "Downloaded shard", type: "HYBRID" })).text).toBe("success");
    expect((await t.admin.jobs.get.query({ id })).progress?.message).toBe("Downloaded shard");
    expect((await t.admin.jobs.logs.query({ id })).map((l) => l.line)).toEqual(["Downloaded shard"]);

    const done = await api.post("markAsDone", { token, count: 1234, type: "HYBRID" });
    expect([done.status, done.text]).toEqual([200, "success"]);
    expect((await t.admin.jobs.get.query({ id })).status).toBe("succeeded");
    const again = await api.post("markAsDone", { token, count: 1234, type: "HYBRID" });
    expect(again.status).toBe(403);
    expect(again.text).toContain("already marked as completed");
    expect((await fetch(job.json<JobAnswer>().url)).status).toBe(404); // no longer leased: not served

    expect(await t.admin.workers.leaderboard.query({})).toEqual([{ name: "alice", jobs: 1, counts: { pairs: 1234 } }]);
    expect((await api.post("bye", { token, type: "HYBRID" })).text).toBe("success");
    expect((await api.post("validateWorker", { token, type: "HYBRID" })).text).toBe("False");
    expect((await t.admin.workers.list.query()).map((w) => [w.name, w.status])).toEqual([["alice", "gone"]]);
  });

  it("newJob gives back the job the worker held first; bye releases it", async () => {
    await using t = await start();
    const api = cah(t);
    const { id } = await t.admin.jobs.submit.mutate(wat("http://127.0.0.1:9/a.wat.gz"));
    const token = await api.register("bob", "HYBRID");
    const first = (await api.post("newJob", { token, type: "HYBRID" })).json<JobAnswer>();
    expect(first).toMatchObject({ number: id, url: "http://127.0.0.1:9/a.wat.gz", shard: 0 }); // an http(s) shard is handed out as is
    expect((await api.post("newJob", { token, type: "HYBRID" })).json<JobAnswer>().number).toBe(id);
    expect((await t.admin.jobs.get.query({ id })).attempts).toBe(2);
    await api.post("bye", { token, type: "HYBRID" });
    expect((await t.admin.jobs.get.query({ id })).status).toBe("queued");
    expect(await eventKinds(t, id)).toEqual(["submitted", "leased", "released", "leased", "released"]);
  });
});

describe("Crawling@Home API: CPU and GPU stages", () => {
  it("a CPU result becomes a crawl.gpu job; a GPU invalid download reopens the CPU job", async () => {
    await using t = await start();
    const api = cah(t);
    const { id: cpuJob } = await t.admin.jobs.submit.mutate(wat("http://127.0.0.1:9/b.wat.gz", { piece: 0 }));
    const cpu = await api.register("carol", "CPU");
    expect((await api.post("newJob", { token: cpu, type: "CPU" })).json<JobAnswer>().number).toBe(cpuJob);
    const noUrl = await api.post("markAsDone", { token: cpu, type: "CPU" });
    expect([noUrl.status, noUrl.text]).toEqual([400, "url: missing"]);
    const result = "http://127.0.0.1:9/results/b.tar";
    // The client sends its ids and piece along (as strings); the coordinator keeps the lease's own.
    expect((await api.post("markAsDone", { token: cpu, url: result, start_id: "1000", end_id: "2000", shard: 0, type: "CPU" })).text).toBe("success");
    expect((await t.admin.jobs.get.query({ id: cpuJob })).status).toBe("succeeded");
    const [gpuJob] = (await t.admin.jobs.list.query({ type: "crawl.gpu" })).jobs;
    expect(gpuJob).toMatchObject({ parentId: cpuJob, status: "queued", payload: { url: result, startId: "1000", endId: "2000", piece: 0, shard: "http://127.0.0.1:9/b.wat.gz" } });
    expect((await api.get("jobCount", { type: "GPU" })).text).toBe("1");

    const gpu = await api.register("dave", "GPU");
    const job = await api.post("newJob", { token: gpu, type: "GPU" });
    expect(job.json()).toEqual({ url: result, start_id: 1000, end_id: 2000, shard: 0, number: gpuJob!.id });
    const noCount = await api.post("markAsDone", { token: gpu, type: "GPU" });
    expect([noCount.status, noCount.text]).toEqual([400, "count: missing"]);
    expect((await api.post("gpuInvalidDownload", { token: gpu, type: "GPU" })).text).toBe("success");
    expect((await t.admin.jobs.get.query({ id: gpuJob!.id })).status).toBe("failed");
    expect((await t.admin.jobs.get.query({ id: cpuJob })).status).toBe("queued");
    expect((await api.get("jobCount", { type: "CPU" })).text).toBe("1");
    expect((await api.post("markAsDone", { token: gpu, count: 5, type: "GPU" })).status).toBe(403); // nothing open any more
  });

  it("GPU pair counts go to the leaderboard under crawl.gpu", async () => {
    await using t = await start();
    const api = cah(t);
    await t.admin.jobs.submit.mutate({ type: "crawl.gpu", payload: { url: "http://127.0.0.1:9/r.tar", startId: 0, endId: 10 } });
    const gpu = await api.register("erin", "GPU");
    await api.post("newJob", { token: gpu, type: "GPU" });
    expect((await api.post("markAsDone", { token: gpu, count: 77, type: "GPU" })).text).toBe("success");
    expect(await t.admin.workers.leaderboard.query({ type: "crawl.gpu", by: "pairs" })).toEqual([{ name: "erin", jobs: 1, counts: { pairs: 77 } }]);
  });
});

describe("Crawling@Home API: refusals are plain text with the client's status codes", () => {
  it("403 without a job, 404 for an unknown token, 400 naming a missing field", async () => {
    await using t = await start();
    const api = cah(t);
    const token = await api.register("frank", "HYBRID");
    const none = await api.post("newJob", { token, type: "HYBRID" });
    expect([none.status, none.text, none.type]).toEqual([403, "No jobs available.", "text/plain; charset=utf-8"]);
    const notOpen = await api.post("markAsDone", { token, count: 1, type: "HYBRID" });
    expect([notOpen.status, notOpen.text]).toEqual([403, "You do not have an open job."]);

    const unknown = "f".repeat(32);
    for (const path of ["newJob", "updateProgress", "markAsDone", "gpuInvalidDownload", "bye"]) {
      const r = await api.post(path, { token: unknown, type: "HYBRID", progress: "x", count: 1 });
      expect([path, r.status, r.type]).toEqual([path, 404, "text/plain; charset=utf-8"]);
    }
    expect((await api.post("newJob", { token, type: "GPU" })).status).toBe(404); // a token is for its own worker type

    const bad: [Promise<Answer>, string][] = [
      [api.get("new", { nickname: "x" }), "type: missing"],
      [api.get("new", { nickname: "x", type: "TPU" }), "type: Invalid option"],
      [api.get("new", { type: "CPU" }), "nickname: missing"],
      [api.get("jobCount"), "type: missing"],
      [api.post("newJob", { type: "HYBRID" }), "token: missing"],
      [api.post("newJob", ""), "body: expected a JSON object"],
      [api.post("newJob", "{not json"), "not valid JSON"],
      [api.post("newJob", "token=x", "application/x-www-form-urlencoded"), "Unsupported Media Type"],
      [api.post("updateProgress", { token, type: "HYBRID" }), "progress: missing"],
      [api.post("markAsDone", { token, type: "HYBRID", count: -3 }), "count:"],
      [api.post("gpuInvalidDownload", { token, type: "HYBRID" }), "only GPU workers"],
      [api.post("isCompleted", { addresses: "x" }), "addresses:"],
    ];
    for (const [call, message] of bad) {
      const r = await call;
      expect([r.status, r.type]).toEqual([400, "text/plain; charset=utf-8"]);
      expect(r.text).toContain(message);
    }
    expect((await fetch(`${t.coordinator.url}/api/shard/12345`)).status).toBe(404);
  });

  it("a job cancelled meanwhile: progress answers 403 and the session holds no job", async () => {
    await using t = await start();
    const api = cah(t);
    const { id } = await t.admin.jobs.submit.mutate(wat("http://127.0.0.1:9/c.wat.gz"));
    const token = await api.register("gina", "HYBRID");
    await api.post("newJob", { token, type: "HYBRID" });
    await t.admin.jobs.cancel.mutate({ id });
    expect((await api.post("updateProgress", { token, progress: "working", type: "HYBRID" })).status).toBe(403);
    expect((await api.post("markAsDone", { token, count: 1, type: "HYBRID" })).text).toBe("You do not have an open job.");
  });

  it("a session unseen for longer than its job's lease is dropped: 404, and the job goes back", async () => {
    await using t = await start({ defaultLeaseSeconds: 1 });
    const api = cah(t);
    const { id } = await t.admin.jobs.submit.mutate({ ...wat("http://127.0.0.1:9/d.wat.gz"), leaseSeconds: 1 });
    const token = await api.register("hank", "HYBRID");
    await api.post("newJob", { token, type: "HYBRID" });
    await sleep(1300);
    expect((await api.post("updateProgress", { token, progress: "late", type: "HYBRID" })).status).toBe(404);
    expect((await api.post("validateWorker", { token, type: "HYBRID" })).text).toBe("False");
    await statusBecomes(t, id, "queued");
    const again = await api.register("hank", "HYBRID");
    expect((await api.post("newJob", { token: again, type: "HYBRID" })).json<JobAnswer>().number).toBe(id);
  });

  it("the routes are absent when crawlCompat is off (the default); DROVER_CRAWL_COMPAT turns them on", async () => {
    expect(parseCoordinatorConfig({}, {})).toMatchObject({ crawlCompat: false, crawlUploadAddress: "" });
    expect(parseCoordinatorConfig({}, { DROVER_CRAWL_COMPAT: "true", DROVER_CRAWL_UPLOAD_ADDRESS: UPLOAD })).toMatchObject({ crawlCompat: true, crawlUploadAddress: UPLOAD });
    await using t = await startTestCoordinator();
    expect((await fetch(`${t.coordinator.url}/api/new?nickname=a&type=HYBRID`)).status).toBe(404);
    expect((await fetch(`${t.coordinator.url}/api/newJob`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(404);
  });
});

describe("Crawling@Home API: isCompleted", () => {
  it("lists the addresses whose crawl.wat jobs are all closed, or unknown", async () => {
    await using t = await start();
    const api = cah(t);
    const a = "http://127.0.0.1:9/A.wat.gz";
    const b = "file:///data/B.wat.gz";
    const { id: a0 } = await t.admin.jobs.submit.mutate(wat(a, { piece: 0 }));
    const { id: a1 } = await t.admin.jobs.submit.mutate(wat(a, { piece: 1 }));
    const { id: bId } = await t.admin.jobs.submit.mutate(wat(b));
    await t.admin.jobs.cancel.mutate({ id: bId });
    const token = await api.register("ivy", "HYBRID");
    expect((await api.post("newJob", { token, type: "HYBRID" })).json<JobAnswer>().number).toBe(a0);
    await api.post("markAsDone", { token, count: 1, type: "HYBRID" });
    const addresses = [a, b, "http://127.0.0.1:9/unknown.wat.gz", `${t.coordinator.url}/api/shard/${a1}`, `${t.coordinator.url}/api/shard/${a0}`, `${t.coordinator.url}/api/shard/99999`];
    const r = await api.post("isCompleted", { addresses });
    expect(r.status).toBe(200);
    // a still has piece 1 open, and so has its /api/shard form.
    expect(r.json()).toEqual([b, "http://127.0.0.1:9/unknown.wat.gz", `${t.coordinator.url}/api/shard/${a0}`, `${t.coordinator.url}/api/shard/99999`]);
  });
});
