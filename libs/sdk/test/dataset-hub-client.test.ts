// DatasetHubClient against a real coordinator's hub over file:// storage. The interrupted
// download is cut by a loopback proxy in front of the coordinator, which ends a response
// after a set number of bytes and counts the requests that reach the hub.
import { startTestCoordinator, type TestCoordinator } from "@drover/coordinator/testing";
import { openStorage } from "@drover/storage";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatasetHubClient, HubError } from "../src/index.ts";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const BIG = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));

/** Forwards to the coordinator; `cutAfter` ends the next file response after that many bytes. */
class CuttingProxy {
  server!: Server;
  cutAfter: number | undefined;
  fileRequests: { path: string; range: string | undefined; status: number }[] = [];
  constructor(private readonly target: URL) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const upstream = httpRequest({ host: this.target.hostname, port: this.target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        if (req.url!.includes("/files/")) this.fileRequests.push({ path: req.url!, range: req.headers.range, status: up.statusCode! });
        res.writeHead(up.statusCode!, up.headers);
        const isFile = req.url!.includes("/files/");
        const cut = isFile ? this.cutAfter : undefined;
        if (isFile) this.cutAfter = undefined;
        if (cut === undefined) return void up.pipe(res);
        let sent = 0;
        up.on("data", (chunk: Buffer) => {
          if (sent >= cut) return;
          const part = chunk.subarray(0, cut - sent);
          sent += part.length;
          if (sent < cut) return void res.write(part);
          up.destroy();
          // The connection drops mid-body, once what was sent has left.
          res.write(part, () => res.destroy());
        });
        up.on("end", () => res.end());
      });
      req.pipe(upstream);
    });
    this.server.listen(0, "127.0.0.1");
    await new Promise((r) => this.server.once("listening", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

let t: TestCoordinator;
let dir: string;
let proxy: CuttingProxy;
let proxyUrl: string;
let token: string;
let root: string;

beforeAll(async () => {
  t = await startTestCoordinator();
  dir = await mkdtemp(join(tmpdir(), "drover-hub-client-"));
  token = (await t.admin.tokens.create.mutate({ name: "reader", role: "reader", user: "rita" })).token;
  root = pathToFileURL(join(dir, "store")).href;
  await t.admin.projects.add.mutate({ slug: "p", storageRoot: root, workflow: { kind: "bash", script: "true" } });
  await t.admin.datasets.add.mutate({ project: "p", slug: "pub", visibility: "public" });
  await t.admin.datasets.add.mutate({ project: "p", slug: "priv" });
  const storage = await openStorage(`${root}/p/pub`);
  await storage.write("big.bin", BIG);
  await storage.write("images/a.jpg", "jpeg a");
  await storage.write("images/b.jpg", "jpeg b");
  await storage.write("images/notes.txt", "notes");
  await storage.close();
  const priv = await openStorage(`${root}/p/priv`);
  await priv.write("secret.txt", "secret");
  await priv.close();
  await t.admin.datasets.add.mutate({ project: "p", slug: "twins", visibility: "public" });
  const twins = await openStorage(`${root}/p/twins`);
  for (const name of ["a.txt", "b.txt", "c.txt"]) await twins.write(name, "same bytes");
  for (const name of ["empty-1", "empty-2"]) await twins.write(name, "");
  await twins.close();
  await t.admin.datasets.refreshManifest.mutate({ dataset: "twins" });
  await t.admin.datasets.refreshManifest.mutate({ dataset: "pub" });
  await t.admin.datasets.refreshManifest.mutate({ dataset: "priv" });
  proxy = new CuttingProxy(new URL(t.coordinator.url));
  proxyUrl = await proxy.start();
});
afterAll(async () => {
  proxy?.server.close();
  await t?.[Symbol.asyncDispose]();
  await rm(dir, { recursive: true, force: true });
});

const cacheDir = () => mkdtemp(join(dir, "cache-"));

describe("DatasetHubClient", () => {
  it("lists datasets and reads manifests: public without a token, private with one; the manifest is cached and revalidated", async () => {
    const anon = new DatasetHubClient({ url: t.coordinator.url, cacheDir: await cacheDir() });
    expect((await anon.listDatasets()).map((d) => d.slug)).toEqual(["pub", "twins"]);
    await expect(anon.getManifest("priv")).rejects.toMatchObject({ code: "UNAUTHENTICATED", status: 401 });
    const cache = await cacheDir();
    const rita = new DatasetHubClient({ url: proxyUrl, token, cacheDir: cache });
    expect((await rita.listDatasets()).map((d) => d.slug)).toEqual(["priv", "pub", "twins"]);
    const m = await rita.getManifest("pub");
    expect(m.entries.map((e) => [e.path, e.size, e.sha256])).toEqual([
      ["big.bin", BIG.length, sha(BIG)],
      ["images/a.jpg", 6, sha("jpeg a")],
      ["images/b.jpg", 6, sha("jpeg b")],
      ["images/notes.txt", 5, sha("notes")],
    ]);
    // A second client over the same cache revalidates (304) and gets the same manifest.
    const again = new DatasetHubClient({ url: proxyUrl, token, cacheDir: cache });
    expect(await again.getManifest("pub")).toEqual(m);
    // With the hub unreachable, the cached manifest still answers.
    const offline = new DatasetHubClient({ url: "http://127.0.0.1:9", token, cacheDir: cache });
    expect(await offline.getManifest("pub")).toEqual(m);
    await expect(new DatasetHubClient({ url: "http://127.0.0.1:9", cacheDir: await cacheDir() }).getManifest("pub")).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });

  it("a download cut in half resumes with Range and ends whole and verified; nothing partial is ever at the file's path", async () => {
    const cache = await cacheDir();
    const client = new DatasetHubClient({ url: proxyUrl, cacheDir: cache });
    proxy.fileRequests = [];
    proxy.cutAfter = 100_000;
    const failed = await client.getFile("pub", "big.bin").catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    expect(existsSync(join(cache, "pub", "big.bin"))).toBe(false);
    const local = await client.getFile("pub", "big.bin");
    expect(local).toBe(join(cache, "pub", "big.bin"));
    expect((await readFile(local)).equals(BIG)).toBe(true);
    expect(proxy.fileRequests.map((r) => [r.range, r.status])).toEqual([
      [undefined, 200],
      ["bytes=100000-", 206],
    ]);
    // Cached and verified now: no more requests.
    await client.getFile("pub", "big.bin");
    expect(proxy.fileRequests).toHaveLength(2);
  });

  it("detects a corrupt or truncated cache entry and repairs it; never returns it", async () => {
    const cache = await cacheDir();
    const first = new DatasetHubClient({ url: proxyUrl, cacheDir: cache });
    const local = await first.getFile("pub", "images/a.jpg");
    await writeFile(local, "jpeg X"); // same size, other bytes
    proxy.fileRequests = [];
    const second = new DatasetHubClient({ url: proxyUrl, cacheDir: cache });
    expect((await second.getFileBytes("pub", "images/a.jpg")).toString()).toBe("jpeg a");
    expect(existsSync(local)).toBe(false); // the bad copy is removed, not returned…
    await second.getFile("pub", "images/a.jpg"); // …and getFile fetches a good one
    expect(await readFile(local, "utf8")).toBe("jpeg a");
    // Changed behind the client's back after it verified: the new stamp triggers a re-check.
    await truncate(local, 2);
    expect(await readFile(await second.getFile("pub", "images/a.jpg"), "utf8")).toBe("jpeg a");
    expect(proxy.fileRequests.filter((r) => r.path.endsWith("a.jpg"))).toHaveLength(3);
  });

  it("concurrent getFile calls for one file download it once", async () => {
    const client = new DatasetHubClient({ url: proxyUrl, cacheDir: await cacheDir() });
    proxy.fileRequests = [];
    const paths = await Promise.all(Array.from({ length: 10 }, () => client.getFile("pub", "big.bin")));
    expect(new Set(paths).size).toBe(1);
    expect(proxy.fileRequests).toHaveLength(1);
  });

  it("files with the same bytes (empty ones too) download side by side, each whole", async () => {
    const cache = await cacheDir();
    const client = new DatasetHubClient({ url: proxyUrl, cacheDir: cache });
    const paths = await client.downloadDataset("twins", { concurrency: 5 });
    expect(paths).toHaveLength(5);
    for (const name of ["a.txt", "b.txt", "c.txt"]) expect(await readFile(join(cache, "twins", name), "utf8")).toBe("same bytes");
    for (const name of ["empty-1", "empty-2"]) expect(await readFile(join(cache, "twins", name), "utf8")).toBe("");
  });

  it("after the manifest changes, a cached file with the old bytes is fetched again", async () => {
    const cache = await cacheDir();
    const client = new DatasetHubClient({ url: proxyUrl, cacheDir: cache });
    const local = await client.getFile("twins", "c.txt");
    const storage = await openStorage(`${root}/p/twins`);
    await storage.write("c.txt", "new bytes!");
    await storage.close();
    await t.admin.datasets.refreshManifest.mutate({ dataset: "twins" });
    // The client keeps the manifest it has until asked again.
    expect(await readFile(await client.getFile("twins", "c.txt"), "utf8")).toBe("same bytes");
    await client.getManifest("twins");
    expect(await client.getFile("twins", "c.txt")).toBe(local);
    expect(await readFile(local, "utf8")).toBe("new bytes!");
  });

  it("clearing the whole cache leaves what is not the cache's (a cache dir shared with other files)", async () => {
    const cache = await cacheDir();
    await writeFile(join(cache, "notes.txt"), "mine");
    const client = new DatasetHubClient({ url: proxyUrl, cacheDir: cache });
    await client.getFile("pub", "images/a.jpg");
    expect(await client.clearCache()).toBeGreaterThan(0);
    expect(await readFile(join(cache, "notes.txt"), "utf8")).toBe("mine");
    expect(existsSync(join(cache, "pub"))).toBe(false);
  });

  it("downloads a dataset by glob or file list with progress; clears and sizes the cache", async () => {
    const cache = await cacheDir();
    const client = new DatasetHubClient({ url: proxyUrl, token, cacheDir: cache });
    const progress: string[] = [];
    const got = await client.downloadDataset("pub", { filter: "images/*.jpg", concurrency: 2, onProgress: (p) => progress.push(`${p.filesDone}/${p.filesTotal} ${p.bytesDone}/${p.bytesTotal}`) });
    expect(got.sort()).toEqual([join(cache, "pub", "images", "a.jpg"), join(cache, "pub", "images", "b.jpg")]);
    expect(progress).toEqual(["1/2 6/12", "2/2 12/12"]);
    await client.downloadDataset("priv", { files: ["secret.txt"] });
    await expect(client.downloadDataset("pub", { files: ["nope.txt"] })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(client.getFile("pub", "../priv/secret.txt")).rejects.toBeInstanceOf(HubError);
    const pubSize = await client.getCacheSize("pub");
    expect(pubSize).toBeGreaterThan(12); // the two files and the manifest
    const total = await client.getCacheSize();
    expect(total).toBeGreaterThan(pubSize);
    expect(await client.clearCache("pub")).toBe(pubSize);
    expect(await client.getCacheSize("pub")).toBe(0);
    expect(existsSync(join(cache, "priv", "secret.txt"))).toBe(true);
    expect(await client.clearCache()).toBe(total - pubSize);
    expect(await client.getCacheSize()).toBe(0);
  });
});
