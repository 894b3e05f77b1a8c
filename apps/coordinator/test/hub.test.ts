// The dataset hub's HTTP routes and the DSX Hub API, over a real coordinator and real
// file:// storage. Requests go through node:http with the path exactly as written, since
// fetch would normalize `..` away before the server could refuse it.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { openStorage } from "@drover/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startTestCoordinator, type TestCoordinator } from "./helpers.ts";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: () => unknown;
}

function get(base: string, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body.toString()) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");
// Over the hub's 256 KiB small-file limit: streamed from storage. The small ones come from
// the verified memory cache after their first read.
const BIG = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));

let t: TestCoordinator;
let dir: string;
let alice: string;
let bob: string;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  t = await startTestCoordinator();
  dir = await mkdtemp(join(tmpdir(), "drover-hub-"));
  alice = (await t.admin.tokens.create.mutate({ name: "alice", role: "submitter", user: "alice" })).token;
  bob = (await t.admin.tokens.create.mutate({ name: "bob", role: "submitter", user: "bob" })).token;
  const a = t.client(alice);
  const root = pathToFileURL(join(dir, "store")).href;
  await a.projects.add.mutate({ slug: "hubp", storageRoot: root, workflow: { kind: "bash", script: "true" } });
  await a.datasets.add.mutate({ project: "hubp", slug: "open", visibility: "public" });
  await a.datasets.add.mutate({ project: "hubp", slug: "closed" });
  for (const slug of ["open", "closed"]) {
    const storage = await openStorage(`${root}/hubp/${slug}`);
    await storage.write("a.txt", `hello ${slug}`);
    await storage.write("dir/big.bin", BIG);
    await storage.write("with space é.txt", "unicode");
    await storage.close();
    await a.datasets.refreshManifest.mutate({ dataset: slug });
  }
});
afterAll(async () => {
  await t?.[Symbol.asyncDispose]();
  await rm(dir, { recursive: true, force: true });
});

describe("the dataset hub (/hub)", () => {
  it("lists datasets by who asks: public without a token, your own private ones with yours", async () => {
    const anon = await get(t.coordinator.url, "/hub/datasets");
    expect(anon.status).toBe(200);
    expect((anon.json() as { slug: string }[]).map((d) => d.slug)).toEqual(["open"]);
    // Where it is stored is said to token holders only.
    expect((anon.json() as { storagePrefix: string }[])[0]!.storagePrefix).toBe("");
    expect(((await get(t.coordinator.url, "/hub/datasets", bearer(bob))).json() as { storagePrefix: string }[])[0]!.storagePrefix).toMatch(/^file:/);
    expect(((await get(t.coordinator.url, "/hub/datasets", bearer(alice))).json() as { slug: string }[]).map((d) => d.slug)).toEqual(["closed", "open"]);
    expect(((await get(t.coordinator.url, "/hub/datasets", bearer(bob))).json() as { slug: string }[]).map((d) => d.slug)).toEqual(["open"]);
    expect((await get(t.coordinator.url, "/hub/datasets/open")).json()).toMatchObject({ slug: "open", files: 3, bytes: 10 + 300_000 + 7 });
  });

  it("refuses unauthorized access: no token on a private dataset is 401, a bad token 401, another user's dataset 404", async () => {
    const anon = await get(t.coordinator.url, "/hub/datasets/closed/manifest");
    expect(anon.status).toBe(401);
    expect(anon.headers["www-authenticate"]).toBe("Bearer");
    expect(anon.json()).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
    // The same answer for a slug that does not exist: private slugs are not revealed.
    expect((await get(t.coordinator.url, "/hub/datasets/nope/manifest")).status).toBe(401);
    expect((await get(t.coordinator.url, "/hub/datasets/open/manifest", bearer("not-a-real-token-at-all"))).status).toBe(401);
    expect((await get(t.coordinator.url, "/hub/datasets/open", { authorization: "Basic abc" })).status).toBe(401);
    const other = await get(t.coordinator.url, "/hub/datasets/closed/files/a.txt", bearer(bob));
    expect(other.status).toBe(404);
    expect(other.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
    expect((await get(t.coordinator.url, "/hub/datasets/closed/files/a.txt", bearer(ADMIN_TOKEN))).body.toString()).toBe("hello closed");
  });

  it("serves the manifest with an ETag and answers If-None-Match with 304 until it changes", async () => {
    const first = await get(t.coordinator.url, "/hub/datasets/open/manifest");
    expect(first.status).toBe(200);
    const m = first.json() as { dataset: string; files: number; entries: { path: string; size: number; sha256: string }[] };
    expect(m.entries.map((e) => e.path)).toEqual(["a.txt", "dir/big.bin", "with space é.txt"]);
    expect(m.entries[1]).toMatchObject({ size: 300_000, sha256: sha(BIG) });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const again = await get(t.coordinator.url, "/hub/datasets/open/manifest", { "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    // A refresh that changes nothing keeps the ETag; a new file changes it.
    await t.client(alice).datasets.refreshManifest.mutate({ dataset: "open" });
    expect((await get(t.coordinator.url, "/hub/datasets/open/manifest", { "if-none-match": etag })).status).toBe(304);
    const storage = await openStorage(`${pathToFileURL(join(dir, "store")).href}/hubp/open`);
    await storage.write("new.txt", "new");
    await t.client(alice).datasets.refreshManifest.mutate({ dataset: "open" });
    const changed = await get(t.coordinator.url, "/hub/datasets/open/manifest", { "if-none-match": etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    await storage.delete("new.txt");
    await t.client(alice).datasets.refreshManifest.mutate({ dataset: "open" });
    await storage.close();
  });

  it("serves files with ETag = sha256, Range (206, suffix, 416), If-Range and HEAD", async () => {
    const url = "/hub/datasets/open/files/dir/big.bin";
    const whole = await get(t.coordinator.url, url);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(BIG)).toBe(true);
    expect(whole.headers).toMatchObject({ etag: `"${sha(BIG)}"`, "content-length": "300000", "accept-ranges": "bytes", "content-type": "application/octet-stream" });
    const part = await get(t.coordinator.url, url, { range: "bytes=100-199" });
    expect(part.status).toBe(206);
    expect(part.headers["content-range"]).toBe("bytes 100-199/300000");
    expect(part.body.equals(BIG.subarray(100, 200))).toBe(true);
    const tail = await get(t.coordinator.url, url, { range: "bytes=-10" });
    expect(tail.body.equals(BIG.subarray(299_990))).toBe(true);
    const past = await get(t.coordinator.url, url, { range: "bytes=600000-" });
    expect(past.status).toBe(416);
    expect(past.headers["content-range"]).toBe("bytes */300000");
    // A partial copy of another version: If-Range does not match, so the whole file comes.
    const stale = await get(t.coordinator.url, url, { range: "bytes=100-199", "if-range": '"0000"' });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(300_000);
    const fresh = await get(t.coordinator.url, url, { range: "bytes=100-199", "if-range": `"${sha(BIG)}"` });
    expect(fresh.status).toBe(206);
    expect((await get(t.coordinator.url, url, { "if-none-match": `"${sha(BIG)}"` })).status).toBe(304);
    const head = await get(t.coordinator.url, url, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe("300000");
    expect(head.body.length).toBe(0);
    expect((await get(t.coordinator.url, `/hub/datasets/open/files/${encodeURIComponent("with space é.txt")}`)).body.toString()).toBe("unicode");
    // A small file from the memory cache honours ranges and validators the same way.
    const small = await get(t.coordinator.url, "/hub/datasets/open/files/a.txt", { range: "bytes=6-" });
    expect(small.status).toBe(206);
    expect(small.body.toString()).toBe("open");
    expect(small.headers["content-range"]).toBe("bytes 6-9/10");
    expect((await get(t.coordinator.url, "/hub/datasets/open/files/a.txt", { "if-none-match": `"${sha("hello open")}"` })).status).toBe(304);
  });

  it("refuses paths that try to leave the dataset (400) and files not in the manifest (404)", async () => {
    for (const path of ["../closed/a.txt", "dir/../a.txt", "%2e%2e/closed/a.txt", "dir/%2E%2E/%2E%2E/x", "dir//big.bin", "./a.txt", "%2Fetc%2Fpasswd", "a%5C..%5Cb", "a%00b"]) {
      const answer = await get(t.coordinator.url, `/hub/datasets/open/files/${path}`);
      expect(answer.status, path).toBe(400);
      expect(answer.json(), path).toMatchObject({ error: { code: "INVALID_INPUT", message: expect.stringContaining("path") } });
    }
    const missing = await get(t.coordinator.url, "/hub/datasets/open/files/nope.txt");
    expect(missing.status).toBe(404);
    // In the manifest but gone from storage: 404 with the fix in the message, no half answer.
    const storage = await openStorage(`${pathToFileURL(join(dir, "store")).href}/hubp/closed`);
    await storage.delete("dir/big.bin");
    // Rewritten behind the manifest's back with another size: refused, nothing sent.
    await storage.write("with space é.txt", "a longer text now");
    await storage.close();
    const changed = await get(t.coordinator.url, `/hub/datasets/closed/files/${encodeURIComponent("with space é.txt")}`, bearer(alice));
    expect(changed.status).toBe(409);
    expect(changed.json()).toMatchObject({ error: { code: "INVALID_STATE", message: expect.stringContaining("refresh the manifest") } });
    // A client with a current copy still gets its 304.
    expect((await get(t.coordinator.url, "/hub/datasets/closed/files/dir/big.bin", { ...bearer(alice), "if-none-match": `"${sha(BIG)}"` })).status).toBe(304);
    const gone = await get(t.coordinator.url, "/hub/datasets/closed/files/dir/big.bin", bearer(alice));
    expect(gone.status).toBe(404);
    expect(gone.headers.etag).toBeUndefined();
    expect(gone.json()).toMatchObject({ error: { message: expect.stringContaining("refresh the manifest") } });
  });
});

/**
 * The DSX Hub SDK's calls, made the way its `DatasetHubClient` makes them: Python `requests`
 * with a bearer key, `stream=True` and `iter_content(8192)` for files, paths put into the URL
 * as they are. (The SDK itself is not vendored here; its client is a thin layer over these.)
 */
const DSX_CLIENT = String.raw`
import hashlib, json, os, requests
base = os.environ["BASE"].rstrip("/")
headers = {"Authorization": f"Bearer {os.environ['KEY']}"}
out = {}
r = requests.get(f"{base}/datasets", headers=headers); r.raise_for_status(); out["datasets"] = r.json()
r = requests.get(f"{base}/manifest/open", headers=headers); r.raise_for_status(); manifest = r.json()
out["paths"] = [e["path"] for e in manifest]
ok = []
for e in manifest:
    r = requests.get(f"{base}/file/open/{e['path']}", headers=headers, stream=True); r.raise_for_status()
    data = b"".join(r.iter_content(8192))
    ok.append(len(data) == e["size"] and hashlib.sha256(data).hexdigest() == e["hash"])
out["files_ok"] = ok
out["no_key"] = requests.get(f"{base}/datasets").status_code
out["bad_key"] = requests.get(f"{base}/datasets", headers={"Authorization": "Bearer not-a-drover-token-at-all"}).status_code
out["unknown"] = requests.get(f"{base}/manifest/nope", headers=headers).status_code
# requests removes a plain ".." itself; encoded, it reaches the server, which refuses it.
out["traversal"] = requests.get(f"{base}/file/open/%2E%2E/closed/a.txt", headers=headers).status_code
out["missing"] = requests.get(f"{base}/file/open/missing.txt", headers=headers).status_code
out["health"] = requests.get(f"{base}/health").json()
print(json.dumps(out))
`;

describe("the DSX Hub API (/dsx)", () => {
  it("works for a Python requests client making the DSX SDK's calls", async () => {
    // Asynchronously: the coordinator answering it runs in this process.
    const { stdout } = await promisify(execFile)(process.env["DROVER_TEST_PYTHON"] ?? "python3", ["-c", DSX_CLIENT], { env: { ...process.env, BASE: `${t.coordinator.url}/dsx`, KEY: bob }, encoding: "utf8" });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out).toEqual({
      datasets: ["open"],
      paths: ["a.txt", "dir/big.bin", "with space é.txt"],
      files_ok: [true, true, true],
      no_key: 401,
      bad_key: 401,
      unknown: 404,
      traversal: 400,
      missing: 404,
      health: { status: "ok" },
    });
  });

  it("answers health without a key and 401 with FastAPI's shape without one elsewhere", async () => {
    expect((await get(t.coordinator.url, "/dsx/health")).json()).toEqual({ status: "ok" });
    expect((await get(t.coordinator.url, "/dsx/docs")).status).toBe(200);
    const anon = await get(t.coordinator.url, "/dsx/datasets");
    expect(anon.status).toBe(401);
    expect(anon.json()).toEqual({ detail: "Missing Authorization header" });
  });

  it("lists names, serves manifests with sha256 hashes and files; 404 unknown, 400 for a path that leaves", async () => {
    expect((await get(t.coordinator.url, "/dsx/datasets", bearer(alice))).json()).toEqual(["closed", "open"]);
    expect((await get(t.coordinator.url, "/dsx/datasets", bearer(bob))).json()).toEqual(["open"]);
    const manifest = (await get(t.coordinator.url, "/dsx/manifest/open", bearer(bob))).json();
    expect(manifest).toEqual([
      { path: "a.txt", size: 10, hash: sha("hello open") },
      { path: "dir/big.bin", size: 300_000, hash: sha(BIG) },
      { path: "with space é.txt", size: 7, hash: sha("unicode") },
    ]);
    const unknown = await get(t.coordinator.url, "/dsx/manifest/nope", bearer(bob));
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toMatchObject({ detail: expect.stringContaining("does not exist") });
    expect((await get(t.coordinator.url, "/dsx/manifest/closed", bearer(bob))).status).toBe(404);
    const file = await get(t.coordinator.url, "/dsx/file/open/dir/big.bin", bearer(bob));
    expect(file.body.equals(BIG)).toBe(true);
    expect((await get(t.coordinator.url, "/dsx/file/open/../closed/a.txt", bearer(bob))).status).toBe(400);
    expect((await get(t.coordinator.url, "/dsx/file/open/missing.txt", bearer(bob))).status).toBe(404);
  });
});
