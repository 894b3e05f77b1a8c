// The GCS backend against firebase-tools' storage emulator on loopback: the conformance
// suite, then what only GCS has (resumable-upload clean-up, signing, custom metadata), all
// while checking that nothing connects beyond 127.0.0.1 (no credential probing).
import { Storage as GcsClient } from "@google-cloud/storage";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStorage, type Storage } from "../src/index.ts";
import { mapGcsError } from "../src/backends/gcs-errors.ts";
import { failingStream, kindOf, recordNonLoopbackConnections, stallingStream, tcpHandles } from "./cloud-test-helpers.ts";
import { describeStorage } from "./describe-storage.ts";
import { gcsStorageOptions, startGcsEmulator, type GcsEmulatorServer } from "./servers/gcs-emulator.ts";
import { freePort } from "./servers/util.ts";

const MIB = 1024 * 1024;
const stopRecording = recordNonLoopbackConnections();

afterAll(() => {
  expect(stopRecording()).toEqual([]);
});

/**
 * A service-account key file with the emulator's dummy key, so URLs are signed locally.
 * Its token_uri points at a closed loopback port: were the SDK ever to ask for a token,
 * it would fail here instead of reaching Google.
 */
async function keyFile(server: GcsEmulatorServer, dir: string): Promise<string> {
  const path = join(dir, "service-account.json");
  const key = {
    type: "service_account",
    project_id: server.projectId,
    private_key_id: "test",
    private_key: server.credentials.private_key,
    client_email: server.credentials.client_email,
    client_id: "1",
    token_uri: `http://127.0.0.1:${await freePort()}/token`,
  };
  await writeFile(path, JSON.stringify(key), { mode: 0o600 });
  return path;
}

describeStorage("gcs (emulator)", async () => {
  const server = await startGcsEmulator();
  const dir = await mkdtemp(join(tmpdir(), "drover-gcs-key-"));
  const keyFilename = await keyFile(server, dir);
  return {
    url: `gs://${server.bucket}/conformance/`,
    options: { gcs: { apiEndpoint: server.apiEndpoint, projectId: server.projectId, keyFilename } },
    dispose: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe("gcs specifics", () => {
  let server: GcsEmulatorServer;
  let storage: Storage;
  let raw: GcsClient;

  beforeAll(async () => {
    server = await startGcsEmulator();
    storage = await openStorage(`gs://${server.bucket}/specifics/`, { gcs: { apiEndpoint: server.apiEndpoint, projectId: server.projectId } });
    raw = new GcsClient(gcsStorageOptions(server));
  });

  afterAll(async () => {
    await storage?.close();
    await server?.stop();
  });

  it("stores the sha256 as custom metadata and returns it from stat and list", async () => {
    const data = randomBytes(100_000);
    const sha256 = createHash("sha256").update(data).digest("hex");
    await storage.write("meta/stream", new Blob([data]).stream());
    const [md] = await raw.bucket(server.bucket).file("specifics/meta/stream").getMetadata();
    expect(md.metadata?.["sha256"]).toBe(sha256);
    expect((await storage.stat("meta/stream")).sha256).toBe(sha256);
    const listed = [];
    for await (const entry of storage.list("meta/")) listed.push(entry);
    expect(listed).toMatchObject([{ key: "meta/stream", size: data.byteLength, sha256 }]);
  });

  it("a 50 MB resumable upload that fails near its end leaves no object and no open request", async () => {
    const before = tcpHandles();
    for (const [key, body, options] of [
      // The wrapper's sha256 check fails when the stream ends, after all bytes were sent.
      ["ru/bad-sha", failingStream(50 * MIB, Infinity), { sha256: "0".repeat(64) }],
      // The source itself breaks at 45 MB.
      ["ru/cut", failingStream(50 * MIB, 45 * MIB), {}],
    ] as const) {
      const kind = await kindOf(storage.write(key, body, options));
      expect(kind).toBe(key === "ru/bad-sha" ? "ChecksumMismatch" : "Unexpected");
      expect(await storage.exists(key)).toBe(false);
    }
    // The SDK would leave the upload's PUT waiting for more body forever; the driver's
    // per-upload agent cuts it off (see gcs-upload.ts).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tcpHandles()).toBeLessThanOrEqual(before);
    expect(await storage.exists("ru/bad-sha")).toBe(false);
  }, 120_000);

  it("an abort during a resumable upload (the source stalled) fails it as Aborted and leaves nothing", async () => {
    const before = tcpHandles();
    const controller = new AbortController();
    const kind = await kindOf(storage.write("ru/aborted", stallingStream(20 * MIB, controller), { signal: controller.signal }));
    expect(kind).toBe("Aborted");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tcpHandles()).toBeLessThanOrEqual(before);
    expect(await storage.exists("ru/aborted")).toBe(false);
  }, 60_000);

  it("cannot presign without a key file, and says so", async () => {
    expect(storage.capabilities.presign).toBe(false);
    expect(await kindOf(storage.presign("x", { method: "GET" }))).toBe("Unsupported");
  });

  it("presigns v4 GET and PUT URLs with a key file, signed locally", async () => {
    // The emulator does not check signatures: this proves the URLs' shape and that fetch
    // can use them, and (with the connection recorder) that signing needed no network.
    const dir = await mkdtemp(join(tmpdir(), "drover-gcs-key-"));
    const signing = await openStorage(`gs://${server.bucket}/specifics/`, {
      gcs: { apiEndpoint: server.apiEndpoint, projectId: server.projectId, keyFilename: await keyFile(server, dir) },
    });
    expect(signing.capabilities.presign).toBe(true);
    const put = await signing.presign("signed/obj", { method: "PUT", expiresIn: 120 });
    const url = new URL(put);
    expect(url.origin).toBe(server.apiEndpoint);
    expect(url.pathname).toBe(`/${server.bucket}/specifics/signed/obj`);
    expect(url.searchParams.get("X-Goog-Algorithm")).toBe("GOOG4-RSA-SHA256");
    expect(url.searchParams.get("X-Goog-Expires")).toBe("120");
    expect(url.searchParams.get("X-Goog-Credential")).toContain(server.credentials.client_email);
    expect((await fetch(put, { method: "PUT", body: "via signed PUT" })).status).toBeLessThan(300);
    const get = await signing.presign("signed/obj", { method: "GET" });
    expect(await (await fetch(get)).text()).toBe("via signed PUT");
    await signing.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reads an empty slice past the end even though the emulator answers such ranges with 200", async () => {
    await storage.write("range/ten", "0123456789");
    expect((await storage.read("range/ten", { range: { offset: 10 } })).byteLength).toBe(0);
    expect((await storage.read("range/ten", { range: { offset: 50, length: 5 } })).byteLength).toBe(0);
    expect(await kindOf(storage.read("range/none", { range: { offset: 50, length: 5 } }))).toBe("NotFound");
  });

  it("maps an endpoint nobody listens on to Unavailable (after the SDK's own retries)", async () => {
    const port = await freePort();
    const nowhere = await openStorage(`gs://${server.bucket}/x/`, { gcs: { apiEndpoint: `http://127.0.0.1:${port}`, projectId: server.projectId } });
    await expect(nowhere.stat("k")).rejects.toMatchObject({ kind: "Unavailable", retryable: true });
    await nowhere.close();
  }, 60_000);

  it("deletes again when the connection of a delete is reset (the SDK does not retry a DELETE)", async () => {
    // A server on loopback standing in for GCS: the first DELETE has its connection cut, as
    // a kept-alive socket closed by the server just then is; later ones succeed.
    const deletes: string[] = [];
    const flaky = createServer((req, res) => {
      if (req.method !== "DELETE") return void res.writeHead(500).end();
      deletes.push(req.url ?? "");
      if (deletes.length === 1) return void req.socket.destroy();
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => flaky.listen(0, "127.0.0.1", resolve));
    const { port } = flaky.address() as AddressInfo;
    try {
      const storage = await openStorage("gs://flaky/p/", { gcs: { apiEndpoint: `http://127.0.0.1:${port}`, projectId: server.projectId } });
      await storage.delete("k");
      expect(deletes).toHaveLength(2);
      expect(deletes[1]).toBe(deletes[0]);
      expect(deletes[0]).toContain("/b/flaky/o/p%2Fk");
      await storage.close();
    } finally {
      flaky.closeAllConnections();
      await new Promise((resolve) => flaky.close(resolve));
    }
  });

  it("maps GCS statuses onto kinds", () => {
    // The emulator creates buckets on first use, so a missing bucket is only seen on GCS.
    const err = (code: number, message = `HTTP ${code}`) => Object.assign(new Error(message), { code });
    const kind = (error: unknown) => mapGcsError(error, "k", "gs://b/")?.kind;
    expect(kind(err(404))).toBe("NotFound");
    expect(mapGcsError(err(404, "The specified bucket does not exist."), "k", "gs://b/")?.message).toContain("bucket");
    expect(kind(err(401))).toBe("PermissionDenied");
    expect(kind(err(403))).toBe("PermissionDenied");
    expect(kind(err(412))).toBe("AlreadyExists");
    expect(kind(err(429))).toBe("RateLimited");
    expect(kind(err(503))).toBe("Unavailable");
    expect(kind(Object.assign(new Error("x"), { response: { status: 500 } }))).toBe("Unavailable");
    expect(kind(Object.assign(new Error("Cannot sign data without `client_email`."), { name: "SigningError" }))).toBe("Unsupported");
    expect(kind(err(400))).toBeUndefined(); // falls back to toStorageError
    expect(kind(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBeUndefined();
  });
});
