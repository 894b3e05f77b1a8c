// The S3 backend against s3rver on loopback: the conformance suite, then what only S3 has
// (multipart clean-up, error mapping, presigned URL shape, user metadata).
import { HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStorage, type Storage } from "../src/index.ts";
import { s3Driver } from "../src/backends/s3.ts";
import { mapS3Error } from "../src/backends/s3-errors.ts";
import { failingStream, kindOf, loggingProxy, recordNonLoopbackConnections, stallingStream, type LoggingProxy } from "./cloud-test-helpers.ts";
import { describeStorage } from "./describe-storage.ts";
import { s3ClientOptions, startS3rver, type S3rverServer } from "./servers/s3rver.ts";
import { freePort } from "./servers/util.ts";

const MIB = 1024 * 1024;
// Explicit endpoint and credentials everywhere: nothing may leave 127.0.0.1 (no IMDS probe).
const stopRecording = recordNonLoopbackConnections();

afterAll(() => {
  expect(stopRecording()).toEqual([]);
});

function s3Options(server: Pick<S3rverServer, "endpoint" | "region" | "accessKeyId" | "secretAccessKey">, endpoint = server.endpoint) {
  return {
    s3: {
      endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    },
  };
}

describeStorage("s3 (s3rver)", async () => {
  const server = await startS3rver();
  return { url: `s3://${server.bucket}/conformance/`, options: s3Options(server), dispose: server.stop };
});

describe("s3 specifics", () => {
  let server: S3rverServer;
  let proxy: LoggingProxy;
  let storage: Storage;
  let raw: S3Client;

  beforeAll(async () => {
    server = await startS3rver();
    // Requests go through a logging proxy so tests can see which S3 calls were made.
    proxy = await loggingProxy(server.endpoint);
    storage = await openStorage(`s3://${server.bucket}/specifics/`, s3Options(server, proxy.endpoint));
    raw = new S3Client(s3ClientOptions(server));
  });

  afterAll(async () => {
    await storage?.close();
    raw?.destroy();
    await proxy?.close();
    await server?.stop();
  });

  /** The requests logged since `from` that touch `key` (under the storage root). */
  const callsFor = (key: string, from: number): string[] => proxy.log.slice(from).filter((line) => line.includes(`/specifics/${key}`));

  it("stores the sha256 as x-amz-meta-sha256 and returns it from stat, also for a small stream", async () => {
    await storage.write("meta/bytes", "some bytes");
    const head = await raw.send(new HeadObjectCommand({ Bucket: server.bucket, Key: "specifics/meta/bytes" }));
    expect(head.Metadata?.["sha256"]).toBe(createHash("sha256").update("some bytes").digest("hex"));
    // A stream that fits in one part is sent as one PutObject, so its hash is known in time.
    const data = randomBytes(100_000);
    await storage.write("meta/stream", new Blob([data]).stream());
    expect((await storage.stat("meta/stream")).sha256).toBe(createHash("sha256").update(data).digest("hex"));
  });

  it("a 50 MB multipart stream that fails near its end leaves no object and is never completed", async () => {
    for (const [key, body, options] of [
      // The wrapper's sha256 check fails when the stream ends, after every part went up.
      ["mp/bad-sha", failingStream(50 * MIB, Infinity), { sha256: "0".repeat(64) }],
      // The source itself breaks at 45 MB.
      ["mp/cut", failingStream(50 * MIB, 45 * MIB), {}],
    ] as const) {
      const from = proxy.log.length;
      const kind = await kindOf(storage.write(key, body, options));
      expect(kind).toBe(key === "mp/bad-sha" ? "ChecksumMismatch" : "Unexpected");
      expect(await storage.exists(key)).toBe(false);
      const calls = callsFor(key, from);
      expect(calls.some((c) => c.startsWith("POST") && /\?uploads=?$/.test(c))).toBe(true); // CreateMultipartUpload
      expect(calls.filter((c) => c.startsWith("PUT") && c.includes("partNumber=")).length).toBeGreaterThan(1); // UploadPart
      expect(calls.some((c) => c.startsWith("DELETE") && c.includes("uploadId="))).toBe(true); // AbortMultipartUpload
      expect(calls.some((c) => c.startsWith("POST") && c.includes("uploadId="))).toBe(false); // never CompleteMultipartUpload
    }
    // On AWS, ListMultipartUploads would show nothing pending. s3rver implements neither it
    // nor AbortMultipartUpload (it answers 405, which the driver swallows so the real cause
    // is reported), so the request log above is the evidence here.
    const pending = await raw.send(new ListMultipartUploadsCommand({ Bucket: server.bucket })).then(
      (res) => res.Uploads ?? [],
      (error: { name?: string }) => error.name,
    );
    if (Array.isArray(pending)) expect(pending).toEqual([]);
    else expect(pending).toBe("NotImplemented");
  }, 120_000);

  it("an abort during a multipart upload (the source stalled) fails it as Aborted and completes nothing", async () => {
    const controller = new AbortController();
    const from = proxy.log.length;
    const kind = await kindOf(storage.write("mp/aborted", stallingStream(20 * MIB, controller), { signal: controller.signal }));
    expect(kind).toBe("Aborted");
    expect(await storage.exists("mp/aborted")).toBe(false);
    // Every multipart upload that was started (CreateMultipartUpload) was aborted, none completed.
    const calls = callsFor("mp/aborted", from);
    const created = calls.filter((c) => c.startsWith("POST") && /\?uploads=?$/.test(c)).length;
    expect(calls.filter((c) => c.startsWith("DELETE") && c.includes("uploadId=")).length).toBe(created);
    expect(calls.some((c) => c.startsWith("POST") && c.includes("uploadId="))).toBe(false);
  }, 60_000);

  it("maps a missing bucket to NotFound naming the bucket", async () => {
    const missing = await openStorage("s3://no-such-bucket/x/", s3Options(server));
    for (const op of [() => missing.read("k"), () => missing.write("k", "v"), () => missing.stat("k"), () => missing.exists("k")]) {
      await expect(op()).rejects.toMatchObject({ kind: "NotFound", message: expect.stringContaining("no-such-bucket") });
    }
    await expect((async () => {
      for await (const _ of missing.list("")) void _;
    })()).rejects.toMatchObject({ kind: "NotFound" });
    await missing.close();
  });

  it("maps an endpoint nobody listens on to Unavailable (retryable)", async () => {
    const port = await freePort();
    const nowhere = await openStorage(`s3://${server.bucket}/x/`, s3Options(server, `http://127.0.0.1:${port}`));
    await expect(nowhere.stat("k")).rejects.toMatchObject({ kind: "Unavailable", retryable: true });
    await nowhere.close();
  });

  it("presigns GET and PUT URLs that fetch can use", async () => {
    // s3rver does not check signatures: this proves the URLs' shape (host, path, query,
    // expiry) and that a plain HTTP client can use them, not that AWS would accept them.
    const put = await storage.presign("presigned/obj", { method: "PUT", expiresIn: 120 });
    const url = new URL(put);
    expect(url.origin).toBe(proxy.endpoint);
    expect(url.pathname).toBe(`/${server.bucket}/specifics/presigned/obj`);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("120");
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(url.searchParams.has("x-amz-checksum-crc32")).toBe(false);
    expect((await fetch(put, { method: "PUT", body: "via presigned PUT" })).status).toBe(200);
    expect(new TextDecoder().decode(await storage.read("presigned/obj"))).toBe("via presigned PUT");
    const get = await storage.presign("presigned/obj", { method: "GET" });
    expect(new URL(get).searchParams.get("X-Amz-Expires")).toBe("900");
    expect(await (await fetch(get)).text()).toBe("via presigned PUT");
  });

  it("lists objects and common prefixes interleaved in key order across small pages", async () => {
    for (const key of ["ls/a", "ls/b/1", "ls/c", "ls/d/1", "ls/d/2", "ls/e"]) await storage.write(key, key);
    const entries: string[] = [];
    for await (const entry of storage.list("ls/", { delimiter: "/", pageSize: 2 })) entries.push(entry.prefix === true ? `${entry.key} (prefix)` : entry.key);
    expect(entries).toEqual(["ls/a", "ls/b/ (prefix)", "ls/c", "ls/d/ (prefix)", "ls/e"]);
  });

  it("copies keys with spaces and unicode on the server (CopySource is URL-encoded)", async () => {
    await storage.write("copy uni/ünï ✓ (1).txt", "unicode source", { contentType: "text/plain" });
    const info = await storage.copy("copy uni/ünï ✓ (1).txt", "copy uni/dést ✓.txt");
    expect(info).toMatchObject({ size: 14, contentType: "text/plain", sha256: createHash("sha256").update("unicode source").digest("hex") });
    expect(new TextDecoder().decode(await storage.read("copy uni/dést ✓.txt"))).toBe("unicode source");
    expect((await storage.stat("copy uni/dést ✓.txt")).sha256).toBe(info.sha256); // metadata copied too
  });

  it("copies objects above the CopyObject limit through the process, keeping the sha256", async () => {
    const driver = await s3Driver({ ...s3Options(server, proxy.endpoint).s3, bucket: server.bucket, root: "specifics/", maxServerCopySize: 1000 });
    const data = randomBytes(12 * MIB);
    const sha256 = createHash("sha256").update(data).digest("hex");
    await storage.write("bigcopy/src", data);
    const from = proxy.log.length;
    const info = await driver.copy!("bigcopy/src", "bigcopy/dst");
    expect(info).toMatchObject({ key: "bigcopy/dst", size: data.byteLength, sha256 });
    expect(Buffer.from(await storage.read("bigcopy/dst")).equals(data)).toBe(true);
    // A GET of the source and a multipart upload of the copy, not a CopyObject.
    const calls = callsFor("bigcopy/", from);
    expect(calls).toContain(`GET /${server.bucket}/specifics/bigcopy/src?x-id=GetObject`);
    expect(calls).toContain(`POST /${server.bucket}/specifics/bigcopy/dst?uploads=`);
    await driver.close?.();
  }, 60_000);

  it("maps S3 error names and statuses onto kinds", () => {
    const err = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    const kind = (error: unknown) => mapS3Error(error, "k", "b", "s3://b/")?.kind;
    expect(kind(err("NoSuchKey", 404))).toBe("NotFound");
    expect(kind(err("NotFound", 404))).toBe("NotFound");
    expect(kind(err("AccessDenied", 403))).toBe("PermissionDenied");
    expect(kind(err("InvalidAccessKeyId", 403))).toBe("PermissionDenied");
    expect(kind(err("SignatureDoesNotMatch", 403))).toBe("PermissionDenied");
    expect(kind(err("PreconditionFailed", 412))).toBe("AlreadyExists");
    expect(kind(err("SlowDown", 503))).toBe("RateLimited");
    expect(kind(err("Whatever", 429))).toBe("RateLimited");
    expect(kind(err("ServiceUnavailable", 503))).toBe("Unavailable");
    expect(kind(err("InternalError", 500))).toBe("Unavailable");
    expect(kind(err("TimeoutError"))).toBe("Unavailable");
    expect(kind(err("SomethingOdd", 400))).toBeUndefined(); // falls back to toStorageError
    expect(kind(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBeUndefined();
    expect(mapS3Error(err("NoSuchBucket", 404), "k", "b", "s3://b/")?.message).toContain("'b'");
  });
});

describe("s3 aborts", () => {
  // A server that takes every request and never answers: only the signal can end a request
  // (the SDK sets no timeout of its own), so a signal that does not reach the request in
  // flight leaves the call hanging and the test timing out.
  it("ends requests in flight when their signal fires: HEAD, GET, PUT, List, DELETE", async () => {
    const arrived: string[] = [];
    const sockets = new Set<Socket>();
    const silent = createServer((req) => arrived.push(`${req.method} ${req.url}`));
    silent.on("connection", (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const storage = await openStorage("s3://silent/p/", s3Options({ endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", accessKeyId: "k", secretAccessKey: "s" }));
      const calls: [string, (signal: AbortSignal) => Promise<unknown>][] = [
        ["stat", (signal) => storage.stat("k", { signal })],
        ["read", (signal) => storage.read("k", { signal })],
        ["write", (signal) => storage.write("k", "small", { signal })],
        [
          "list",
          async (signal) => {
            for await (const entry of storage.list("", { signal })) void entry;
          },
        ],
        ["delete", (signal) => storage.delete("k", { signal })],
      ];
      for (const [name, call] of calls) {
        const before = arrived.length;
        const controller = new AbortController();
        const pending = kindOf(call(controller.signal));
        // Fire only once the request is at the server, so it is the request in flight that is ended.
        while (arrived.length === before) await new Promise((resolve) => setTimeout(resolve, 5));
        controller.abort();
        expect(await pending, name).toBe("Aborted");
      }
      await storage.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 30_000);

  it("ends a call waiting to retry when its signal fires", async () => {
    // Every request gets 503 SlowDown with Retry-After: the SDK waits seconds before retrying.
    let requests = 0;
    let answered!: () => void;
    const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
    const busy = createServer((req, res) => {
      requests++;
      res.writeHead(503, { "Retry-After": "30", "Content-Type": "application/xml" });
      res.end("<Error><Code>SlowDown</Code><Message>busy</Message></Error>", () => answered());
    });
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const { port } = busy.address() as AddressInfo;
    try {
      const storage = await openStorage("s3://busy/p/", s3Options({ endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", accessKeyId: "k", secretAccessKey: "s" }));
      const controller = new AbortController();
      let settled = false;
      const pending = kindOf(storage.stat("k", { signal: controller.signal })).finally(() => (settled = true));
      await firstAnswer;
      await new Promise((resolve) => setTimeout(resolve, 20)); // the answer read, the retry wait begun
      controller.abort();
      // The wait is raced against the signal: the call settles within a few turns of the
      // event loop, not when the wait ends (no clock involved in this check).
      for (let turn = 0; turn < 20 && !settled; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(true);
      expect(await pending).toBe("Aborted");
      expect(requests).toBe(1);
      await storage.close();
    } finally {
      busy.closeAllConnections();
      await new Promise((resolve) => busy.close(resolve));
    }
  }, 30_000);
});
