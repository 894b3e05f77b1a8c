// downloadFile's two paths after a dropped connection: a large object resumes from the bytes
// already on disk with a range read; a small one (fetched whole, see WHOLE_OBJECT_BYTES) is
// fetched again from the start. Either way the file arrives whole and verified, and nothing
// but the target is left in its directory. The "connection" is a memory storage whose first
// body stream fails midway (a wrapper: memory streams cannot be cut from outside).
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { downloadFile, openStorage, StorageError, type ReadOptions, type Storage } from "../src/index.ts";
import { appendHashed } from "../src/transfer/download-file.ts";

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** A body stream that yields `bytes` in 64 KiB chunks up to `cutAt`, then fails as a dropped connection would. */
function cutStream(bytes: Uint8Array, cutAt: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= cutAt) return controller.error(new StorageError("Unavailable", "connection reset (test)"));
      const end = Math.min(cutAt, at + 65_536);
      controller.enqueue(bytes.slice(at, end));
      at = end;
    },
  });
}

/** `inner`, except that the first body it hands out breaks after `cutAt` bytes; records every read. */
function flaky(inner: Storage, bytes: Uint8Array, cutAt: number) {
  const calls: string[] = [];
  let cut = false;
  const once = (stream: () => Promise<ReadableStream<Uint8Array>>) => async () => {
    if (cut) return stream();
    cut = true;
    return cutStream(bytes, cutAt);
  };
  const storage = Object.create(inner) as Storage;
  storage.openRead = async (key, options) => {
    calls.push("openRead");
    const opened = await inner.openRead(key, options);
    await opened.stream.cancel();
    return { info: opened.info, stream: await once(() => inner.readStream(key, options))() };
  };
  storage.readStream = async (key: string, options?: ReadOptions) => {
    calls.push(`readStream ${options?.range?.offset ?? 0}`);
    return once(() => inner.readStream(key, options))();
  };
  storage.read = async (key: string, options?: ReadOptions) => {
    calls.push(`read ${options?.range?.offset ?? 0}`);
    return inner.read(key, options);
  };
  return { storage, calls };
}

describe("downloadFile after a dropped connection", () => {
  let dir: string;
  let memory: Storage;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "drover-download-file-"));
    memory = await openStorage(`memory://download-file-${Date.now()}/`);
  });
  afterAll(async () => {
    await memory.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("resumes a large object from the bytes on disk with a range read", async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    await memory.write("big.bin", bytes);
    const { storage, calls } = flaky(memory, bytes, 1024 * 1024);
    const target = join(dir, "big", "big.bin");
    const result = await downloadFile(storage, "big.bin", target, { sha256: sha(bytes), baseDelayMs: 1 });
    // From what reached the disk before the cut: some of the last chunks may not have.
    expect(calls).toHaveLength(2);
    expect(calls[0]).toBe("openRead");
    const offset = Number(calls[1]!.replace("readStream ", ""));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(1024 * 1024);
    expect(result).toMatchObject({ size: bytes.length, sha256: sha(bytes) });
    expect(sha(await readFile(target))).toBe(sha(bytes));
    expect(await readdir(join(dir, "big"))).toEqual(["big.bin"]);
  });

  it("writes objects on either side of the synchronous-write and whole-object sizes alike: a failed attempt leaves nothing, an old copy is replaced", async () => {
    // Up to 256 KiB: written and renamed with synchronous calls (time-slice.ts); up to 1 MiB:
    // fetched whole, written through the thread pool; above: streamed.
    for (const size of [0, 1000, 256 * 1024, 256 * 1024 + 1, 1024 * 1024, 1024 * 1024 + 1]) {
      const bytes = randomBytes(size);
      const key = `sizes/${size}.bin`;
      await memory.write(key, bytes);
      const target = join(dir, "sizes", `${size}.bin`);
      await downloadFile(memory, key, target, { sha256: sha(randomBytes(1)) }).catch(() => undefined); // a failed attempt: leaves nothing
      await mkdir(join(dir, "sizes"), { recursive: true });
      await writeFile(target, "an old copy of the file");
      const result = await downloadFile(memory, key, target, { sha256: sha(bytes) });
      expect(result).toMatchObject({ size, sha256: sha(bytes) });
      expect((await readFile(target)).equals(bytes)).toBe(true);
    }
    expect((await readdir(join(dir, "sizes"))).filter((name) => name.includes("drover-partial"))).toEqual([]);
  });

  it("fetches a small object again from the start", async () => {
    const bytes = randomBytes(200_000);
    await memory.write("small.bin", bytes);
    const { storage, calls } = flaky(memory, bytes, 100_000);
    const target = join(dir, "small", "small.bin");
    const result = await downloadFile(storage, "small.bin", target, { sha256: sha(bytes), baseDelayMs: 1 });
    expect(calls).toEqual(["openRead", "readStream 0"]);
    expect(result).toMatchObject({ size: bytes.length, sha256: sha(bytes), resumedFrom: 0 });
    expect(sha(await readFile(target))).toBe(sha(bytes));
    expect(await readdir(join(dir, "small"))).toEqual(["small.bin"]);
  });

  it("refuses a small object that grew since it was listed, without reading it all", async () => {
    const listed = randomBytes(1000);
    await memory.write("grew.bin", randomBytes(600_000));
    const target = join(dir, "grew", "grew.bin");
    const info = { key: "grew.bin", size: listed.length };
    await expect(downloadFile(memory, "grew.bin", target, { info, sha256: sha(listed) })).rejects.toMatchObject({ kind: "ChecksumMismatch", message: expect.stringContaining("more than the expected 1000 bytes") });
    expect(await readdir(join(dir, "grew"))).toEqual([]);
  });

  it("refuses a small object that does not match its sha256, leaving nothing", async () => {
    const bytes = randomBytes(10_000);
    await memory.write("wrong.bin", bytes);
    const target = join(dir, "wrong", "wrong.bin");
    await expect(downloadFile(memory, "wrong.bin", target, { sha256: sha(Buffer.from("something else")) })).rejects.toMatchObject({ kind: "ChecksumMismatch" });
    expect(await readdir(join(dir, "wrong"))).toEqual([]);
  });
});

describe("appendHashed (the large-download write loop)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "drover-append-hashed-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes every chunk that arrived before the source failed, then passes the failure on", async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 123);
    const path = join(dir, "cut.bin");
    const seen: number[] = [];
    // 5 MiB before the cut: more than the write buffer holds, so some of it waits for the disk when the source fails.
    const cut = Readable.fromWeb(cutStream(bytes, 5 * 1024 * 1024) as never);
    await expect(appendHashed(cut, path, false, (chunk) => seen.push(chunk.length))).rejects.toThrow("connection reset (test)");
    // Every chunk the loop saw is on disk (the source may drop what it still buffered when it failed).
    const total = seen.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(4 * 1024 * 1024);
    expect((await readFile(path)).equals(bytes.subarray(0, total))).toBe(true);
    // Appending the rest from where the file ends gives the whole object.
    await appendHashed(Readable.from([bytes.subarray(total)]), path, true, () => {});
    expect(sha(await readFile(path))).toBe(sha(bytes));
  });

  it("fails with the file's error when the disk refuses a write, and stops reading", async () => {
    // /dev/full opens for writing and fails every write with ENOSPC.
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(65_536, 1));
      },
    });
    await expect(appendHashed(endless, "/dev/full", false, () => {})).rejects.toMatchObject({ code: "ENOSPC" });
    expect(endless.destroyed).toBe(true);
    expect(pulled).toBeLessThan(1000);
    // A source that stalls after its first chunk: the failed write must not leave the loop
    // waiting for a chunk that never comes.
    const stalled = new Readable({ read() {} });
    stalled.push(Buffer.alloc(65_536, 2));
    await expect(appendHashed(stalled, "/dev/full", false, () => {})).rejects.toMatchObject({ code: "ENOSPC" });
    expect(stalled.destroyed).toBe(true);
  });
});
