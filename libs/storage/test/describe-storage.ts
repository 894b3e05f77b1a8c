import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keysOf, kindOf } from "./helpers.ts";
import { downloadDir, downloadFile, openStorage, StorageError, uploadDir, type OpenStorageOptions, type Storage, type StorageErrorKind } from "../src/index.ts";

/**
 * The one behaviour suite every backend runs (OpenDAL's and unstorage's lesson): the same
 * cases against memory, local, S3, GCS and rsync, each gated on the backend's declared
 * capabilities, each run under a fresh random prefix that is deleted afterwards.
 */
export interface StorageUnderTest {
  /** Root URL; the suite appends a random prefix to it. Must end with "/". */
  url: string;
  options?: OpenStorageOptions;
  /** Stops servers the factory started. */
  dispose?: () => Promise<void>;
}

const sha = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");



/** A stream of `total` random bytes in 1 MiB chunks, hashing what it sends. */
function randomStream(total: number, hash = createHash("sha256")): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const chunk = randomBytes(Math.min(1 << 20, total - sent));
      hash.update(chunk);
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
}

export function describeStorage(name: string, factory: () => Promise<StorageUnderTest>): void {
  describe(`storage conformance: ${name}`, () => {
    let target: StorageUnderTest;
    let storage: Storage;
    let scratch: string;

    beforeAll(async () => {
      target = await factory();
      storage = await openStorage(`${target.url}run-${randomBytes(6).toString("hex")}/`, target.options);
      scratch = await mkdtemp(join(tmpdir(), "drover-conformance-"));
    }, 120_000);

    afterAll(async () => {
      if (storage !== undefined) {
        // One deletePrefix per top-level "directory": backends that pay a process or a round
        // trip per call (rsync) would otherwise spend minutes deleting key by key.
        for await (const entry of storage.list("", { delimiter: "/" })) {
          if (entry.prefix === true) await storage.deletePrefix(entry.key);
          else await storage.delete(entry.key);
        }
        expect(await keysOf(storage)).toEqual([]);
        await storage.close();
      }
      if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
      await target?.dispose?.();
    }, 120_000);

    it("writes, reads and stats bytes and text", async () => {
      const info = await storage.write("basic/hello.txt", "hello, drover");
      expect(info.size).toBe(13);
      expect(new TextDecoder().decode(await storage.read("basic/hello.txt"))).toBe("hello, drover");
      const stat = await storage.stat("basic/hello.txt");
      expect(stat.size).toBe(13);
      expect(stat.key).toBe("basic/hello.txt");
      if (storage.capabilities.storedSha256) expect(stat.sha256).toBe(sha("hello, drover"));
      expect(await storage.exists("basic/hello.txt")).toBe(true);
      expect(await storage.exists("basic/nope.txt")).toBe(false);
    });

    it("round-trips an empty object", async () => {
      await storage.write("empty/zero", new Uint8Array(0));
      expect((await storage.stat("empty/zero")).size).toBe(0);
      expect((await storage.read("empty/zero")).byteLength).toBe(0);
      const chunks: Uint8Array[] = [];
      for await (const chunk of await storage.readStream("empty/zero")) chunks.push(chunk);
      expect(chunks.reduce((n, c) => n + c.byteLength, 0)).toBe(0);
    });

    it("keeps unicode and spaces in keys", async () => {
      const key = "uni code/ünïcødé ✓ 名前 (1).txt";
      await storage.write(key, "ok");
      expect(new TextDecoder().decode(await storage.read(key))).toBe("ok");
      expect(await keysOf(storage, "uni code/")).toEqual([key]);
    });

    it("reports missing objects as NotFound", async () => {
      expect(await kindOf(storage.stat("missing/x"))).toBe("NotFound");
      expect(await kindOf(storage.read("missing/x"))).toBe("NotFound");
      expect(await kindOf(storage.readStream("missing/x"))).toBe("NotFound");
    });

    it("overwrites an existing key", async () => {
      await storage.write("over/key", "first version, longer");
      await storage.write("over/key", "second");
      expect(new TextDecoder().decode(await storage.read("over/key"))).toBe("second");
      expect((await storage.stat("over/key")).size).toBe(6);
    });

    it("deletes, and deleting a missing key is not an error", async () => {
      await storage.write("del/a", "a");
      await storage.delete("del/a");
      expect(await storage.exists("del/a")).toBe(false);
      expect(await kindOf(storage.delete("del/never-existed"))).toBe("no error");
    });

    it("lists 1,000 keys through paging, in order, and only under the prefix", async () => {
      const keys = Array.from({ length: 1000 }, (_, i) => `many/k${String(i).padStart(4, "0")}`);
      const dir = join(scratch, "many");
      await mkdir(dir, { recursive: true });
      await Promise.all(keys.map((k) => writeFile(join(scratch, k), k)));
      await uploadDir(dir, storage, { prefix: "many/", concurrency: 16 });
      await storage.write("many-sibling", "not under many/");
      const listed: string[] = [];
      for await (const entry of storage.list("many/", { pageSize: 100 })) listed.push(entry.key);
      expect(listed).toEqual(keys);
      expect(await keysOf(storage, "many/k099")).toEqual(keys.slice(990, 1000));
    }, 180_000);

    it("lists one level with a delimiter, or refuses it", async () => {
      await storage.write("tree/a.txt", "a");
      await storage.write("tree/sub/b.txt", "b");
      await storage.write("tree/sub/deeper/c.txt", "c");
      await storage.write("tree/z.txt", "z");
      if (!storage.capabilities.listDelimiter) {
        expect(() => storage.list("tree/", { delimiter: "/" })).toThrow(StorageError);
        return;
      }
      const entries: { key: string; prefix?: boolean }[] = [];
      for await (const entry of storage.list("tree/", { delimiter: "/" })) entries.push({ key: entry.key, prefix: entry.prefix === true });
      expect(entries).toEqual([
        { key: "tree/a.txt", prefix: false },
        { key: "tree/sub/", prefix: true },
        { key: "tree/z.txt", prefix: false },
      ]);
    });

    it("reads byte ranges at the edges, or refuses ranges", async () => {
      const data = randomBytes(1000);
      await storage.write("range/data", data);
      if (!storage.capabilities.rangeRead) {
        expect(await kindOf(storage.read("range/data", { range: { offset: 0, length: 1 } }))).toBe("Unsupported");
        return;
      }
      const read = (offset: number, length?: number): Promise<Uint8Array> => storage.read("range/data", { range: { offset, length } });
      expect(Buffer.from(await read(0, 1))).toEqual(data.subarray(0, 1));
      expect(Buffer.from(await read(999, 1))).toEqual(data.subarray(999));
      expect(Buffer.from(await read(100, 250))).toEqual(data.subarray(100, 350));
      expect(Buffer.from(await read(900))).toEqual(data.subarray(900));
      expect(Buffer.from(await read(990, 100))).toEqual(data.subarray(990));
      expect((await read(1000)).byteLength).toBe(0);
      expect((await read(5, 0)).byteLength).toBe(0);
      const streamed: Uint8Array[] = [];
      for await (const chunk of await storage.readStream("range/data", { range: { offset: 10, length: 20 } })) streamed.push(chunk);
      expect(Buffer.concat(streamed)).toEqual(data.subarray(10, 30));
      expect(await kindOf(read(-1, 5))).toBe("InvalidKey");
    });

    it("round-trips 50 MB through a stream with a sha256 check", async () => {
      const hash = createHash("sha256");
      const size = 50 * 1024 * 1024;
      const written = await storage.write("big/50mb.bin", randomStream(size, hash), { size });
      const expected = hash.digest("hex");
      expect(written.size).toBe(size);
      const back = createHash("sha256");
      let total = 0;
      for await (const chunk of await storage.readStream("big/50mb.bin")) {
        back.update(chunk);
        total += chunk.byteLength;
      }
      expect(total).toBe(size);
      expect(back.digest("hex")).toBe(expected);
      const local = join(scratch, "50mb.bin");
      const result = await downloadFile(storage, "big/50mb.bin", local, { sha256: expected });
      expect(result.sha256).toBe(expected);
      await storage.delete("big/50mb.bin");
    }, 300_000);

    it("refuses a write whose content does not match the expected sha256, leaving nothing", async () => {
      expect(await kindOf(storage.write("bad/bytes", "abc", { sha256: sha("abd") }))).toBe("ChecksumMismatch");
      const stream = randomStream(3 * 1024 * 1024);
      expect(await kindOf(storage.write("bad/stream", stream, { sha256: sha("something else") }))).toBe("ChecksumMismatch");
      expect(await storage.exists("bad/bytes")).toBe(false);
      expect(await storage.exists("bad/stream")).toBe(false);
      expect(await keysOf(storage, "bad/")).toEqual([]);
    });

    it("leaves no partial object when a write is aborted midway", async () => {
      await storage.write("abort/existing", "old content");
      const controller = new AbortController();
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (sent >= 4 * 1024 * 1024) {
            controller.abort(new Error("test abort"));
            await new Promise((r) => setTimeout(r, 50));
            c.error(new Error("source cut"));
            return;
          }
          sent += 1024 * 1024;
          c.enqueue(randomBytes(1024 * 1024));
        },
      });
      const kind = await kindOf(storage.write("abort/new", stream, { signal: controller.signal }));
      expect(kind).toBe("Aborted");
      const overwrite = new AbortController();
      overwrite.abort();
      expect(await kindOf(storage.write("abort/existing", "new", { signal: overwrite.signal }))).toBe("Aborted");
      expect(await storage.exists("abort/new")).toBe(false);
      expect(new TextDecoder().decode(await storage.read("abort/existing"))).toBe("old content");
      expect(await keysOf(storage, "abort/")).toEqual(["abort/existing"]);
    });

    it("copies objects, on the server where it can", async () => {
      await storage.write("copy/src", "copy me");
      const info = await storage.copy("copy/src", "copy/dst/inner");
      expect(info.size).toBe(7);
      expect(new TextDecoder().decode(await storage.read("copy/dst/inner"))).toBe("copy me");
      expect(await storage.exists("copy/src")).toBe(true);
      expect(await kindOf(storage.copy("copy/none", "copy/x"))).toBe("NotFound");
    });

    it("deletes a prefix and nothing beside it", async () => {
      for (let i = 0; i < 5; i++) await storage.write(`dp/${i}`, String(i));
      await storage.write("dp-sibling", "keep");
      expect(await storage.deletePrefix("dp/")).toBe(5);
      expect(await keysOf(storage, "dp")).toEqual(["dp-sibling"]);
      expect(await kindOf(storage.deletePrefix(""))).toBe("InvalidKey");
    });

    it("refuses keys that would leave the root", async () => {
      expect(await kindOf(storage.write("../escape", "x"))).toBe("PermissionDenied");
      expect(await kindOf(storage.write("a/../../escape", "x"))).toBe("PermissionDenied");
      expect(await kindOf(storage.write("/etc/escape", "x"))).toBe("PermissionDenied");
      expect(await kindOf(storage.read("../../etc/passwd"))).toBe("PermissionDenied");
      expect(await kindOf(storage.write("", "x"))).toBe("InvalidKey");
      expect(await kindOf(storage.write("a//b", "x"))).toBe("InvalidKey");
      expect(await kindOf(storage.write("dir/", "x"))).toBe("InvalidKey");
      expect(() => storage.list("../")).toThrow(StorageError);
    });

    it("presigns GET and PUT URLs, or refuses", async () => {
      if (!storage.capabilities.presign) {
        expect(await kindOf(storage.presign("p/x", { method: "GET" }))).toBe("Unsupported");
        return;
      }
      const put = await storage.presign("presign/obj", { method: "PUT", expiresIn: 60 });
      const response = await fetch(put, { method: "PUT", body: "presigned body" });
      expect(response.status).toBeLessThan(300);
      const get = await storage.presign("presign/obj", { method: "GET", expiresIn: 60 });
      expect(await (await fetch(get)).text()).toBe("presigned body");
    });

    it("uploads and downloads a directory, verified, skipping identical files the second time", async () => {
      const src = join(scratch, "dir-src");
      await mkdir(join(src, "nested/deeper"), { recursive: true });
      const files: Record<string, Buffer> = {
        "a.bin": randomBytes(70_000),
        "nested/b.txt": Buffer.from("bee"),
        "nested/deeper/c.bin": randomBytes(1234),
        "empty": Buffer.alloc(0),
      };
      for (const [rel, data] of Object.entries(files)) await writeFile(join(src, rel), data);
      const events: number[] = [];
      const up = await uploadDir(src, storage, { prefix: "dir/", onProgress: (p) => events.push(p.bytesDone) });
      expect(up.files + up.skipped).toBe(4);
      expect(events.length).toBeGreaterThan(0);
      const again = await uploadDir(src, storage, { prefix: "dir/" });
      expect(again.skipped).toBe(4);

      const dest = join(scratch, "dir-dest");
      const down = await downloadDir(storage, dest, { prefix: "dir/" });
      expect(down.files + down.skipped).toBe(4);
      for (const [rel, data] of Object.entries(files)) expect(sha(await readFile(join(dest, rel)))).toBe(sha(data));
      const downAgain = await downloadDir(storage, dest, { prefix: "dir/" });
      expect(downAgain.skipped).toBe(4);
      // skipIdentical: false copies every file again, both ways.
      const upForced = await uploadDir(src, storage, { prefix: "dir/", skipIdentical: false });
      expect([upForced.files, upForced.skipped]).toEqual([4, 0]);
      const downForced = await downloadDir(storage, dest, { prefix: "dir/", skipIdentical: false });
      expect([downForced.files, downForced.skipped]).toEqual([4, 0]);
      for (const [rel, data] of Object.entries(files)) expect(sha(await readFile(join(dest, rel)))).toBe(sha(data));
    }, 120_000);

    it("detects a corrupted download and leaves no bad copy", async () => {
      await storage.write("corrupt/file", "the real content");
      const target = join(scratch, "corrupt-out", "file");
      expect(await kindOf(downloadFile(storage, "corrupt/file", target, { sha256: sha("what the manifest says") }))).toBe("ChecksumMismatch");
      expect(await readdir(join(scratch, "corrupt-out"))).toEqual([]);
    });
  });
}
