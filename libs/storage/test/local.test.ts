import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { downloadDir, openStorage, StorageError, uploadDir } from "../src/index.ts";
import { driverOf } from "../src/storage.ts";
import { describeStorage } from "./describe-storage.ts";

describeStorage("local", async () => {
  const dir = await mkdtemp(join(tmpdir(), "drover-local-"));
  return { url: `file://${dir}/`, dispose: () => rm(dir, { recursive: true, force: true }) };
});

describe("local storage specifics", () => {
  it("never writes outside its root, whatever the key", async () => {
    const outer = await mkdtemp(join(tmpdir(), "drover-local-outer-"));
    const root = join(outer, "root");
    const storage = await openStorage(root);
    for (const key of ["../x", "a/../../x", "/x", "..", "a/./b", "a\0b"]) {
      await expect(storage.write(key, "x")).rejects.toBeInstanceOf(StorageError);
    }
    expect(await readdir(outer)).toEqual([]);
    await rm(outer, { recursive: true, force: true });
  });

  // Copies go to a file that must not exist (COPYFILE_EXCL: see copyToNewFile); a partial
  // file an interrupted download left behind must be replaced, not make the copy fail.
  it("copies an object over a stale partial file, and copies trees whole", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drover-local-copy-"));
    const storage = await openStorage(join(dir, "root"));
    await storage.write("tree/a.bin", "the real content");
    await storage.write("tree/sub/b.bin", "more");
    const stale = join(dir, "stale.partial");
    await writeFile(stale, "a longer leftover from an interrupted attempt");
    await driverOf(storage)!.readToFile!("tree/a.bin", stale);
    expect(await readFile(stale, "utf8")).toBe("the real content");
    await downloadDir(storage, join(dir, "out"), { prefix: "tree/" });
    expect(await readFile(join(dir, "out/sub/b.bin"), "utf8")).toBe("more");
    await storage.copy("tree/a.bin", "copy/a.bin");
    expect(await readFile(join(dir, "root/copy/a.bin"), "utf8")).toBe("the real content");
    await rm(dir, { recursive: true, force: true });
  });

  it("opens relative paths against the working directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drover-local-rel-"));
    const storage = await openStorage("data/out", { cwd: dir });
    await storage.write("k", "v");
    expect(storage.url).toBe(`file://${join(dir, "data/out")}`);
    expect(await readdir(join(dir, "data/out"))).toEqual(["k"]);
    await rm(dir, { recursive: true, force: true });
  });
});

describe("local storage: small files copied with synchronous calls", () => {
  // Files up to 256 KiB take synchronous calls (SYNC_FILE_BYTES in time-slice.ts), larger
  // ones the thread pool: both must behave the same.
  it("copies small and large files alike: sizes, overwrites, stale partial files, missing sources, a directory removed behind its back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drover-local-sync-"));
    const storage = await openStorage(join(dir, "root"));
    const driver = driverOf(storage)!;
    for (const size of [0, 1000, 256 * 1024, 256 * 1024 + 1, 2 << 20]) {
      const source = join(dir, `source-${size}`);
      for (const round of [1, 2]) {
        // The second round overwrites the object with other bytes.
        const bytes = randomBytes(size);
        await writeFile(source, bytes);
        expect((await storage.write(`k/${size}`, { file: source })).size).toBe(size);
        expect((await readFile(join(dir, "root/k", String(size)))).equals(bytes)).toBe(true);
        const partial = join(dir, `partial-${size}-${round}`);
        await writeFile(partial, "a stale leftover of an interrupted attempt, longer than some objects");
        expect(await driver.readToFile!(`k/${size}`, partial)).toBe(size);
        expect((await readFile(partial)).equals(bytes)).toBe(true);
      }
      // The object's directory removed by someone else: made again.
      await rm(join(dir, "root/k"), { recursive: true });
      await storage.write(`k/${size}`, { file: source });
      expect((await readFile(join(dir, "root/k", String(size)))).equals(await readFile(source))).toBe(true);
    }
    await expect(storage.write("k/missing", { file: join(dir, "no-such-file") })).rejects.toMatchObject({ kind: "NotFound" });
    await expect(driver.readToFile!("k/no-such-key", join(dir, "out"))).rejects.toMatchObject({ kind: "NotFound" });
    // A directory where the object should be is not a file to copy.
    await mkdir(join(dir, "root/k/a-dir"), { recursive: true });
    await expect(driver.readToFile!("k/a-dir", join(dir, "out"))).rejects.toThrow();
    const leftovers = await readdir(join(dir, "root"), { recursive: true });
    expect(leftovers.filter((name) => name.includes(".drover-"))).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it("lets the event loop turn while a tree of small files is copied", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drover-local-turns-"));
    const files = 1000;
    await Promise.all(Array.from({ length: 10 }, (_, d) => mkdir(join(dir, "src", `d${d}`), { recursive: true })));
    const bytes = randomBytes(1024);
    await Promise.all(Array.from({ length: files }, (_, i) => writeFile(join(dir, "src", `d${i % 10}`, `f${i}`), bytes)));
    // Turns of the event loop from the first file copied to the last.
    let turns = 0;
    let counting = false;
    const tick = (): void => {
      if (counting) turns++;
      immediate = setImmediate(tick);
    };
    let immediate = setImmediate(tick);
    try {
      const storage = await openStorage(join(dir, "store"));
      const onProgress = (p: { filesDone: number }): void => {
        if (p.filesDone >= 1) counting = p.filesDone < files;
      };
      await uploadDir(join(dir, "src"), storage, { onProgress });
      expect(turns).toBeGreaterThan(0);
      turns = 0;
      await downloadDir(storage, join(dir, "out"), { onProgress });
      expect(turns).toBeGreaterThan(0);
      expect(await readdir(join(dir, "out/d3"))).toHaveLength(files / 10);
    } finally {
      clearImmediate(immediate);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("local storage atomic writes", () => {
  it("leaves no temp file on disk after an aborted or failed write", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drover-local-atomic-"));
    const storage = await openStorage(dir);
    const controller = new AbortController();
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(new Uint8Array(64 * 1024));
        controller.abort();
      },
    });
    await expect(storage.write("sub/file.bin", stream, { signal: controller.signal })).rejects.toMatchObject({ kind: "Aborted" });
    await expect(storage.write("sub/other.bin", "abc", { sha256: "0".repeat(64) })).rejects.toMatchObject({ kind: "ChecksumMismatch" });
    const leftovers = await readdir(dir, { recursive: true });
    expect(leftovers.filter((name) => name.includes(".drover-"))).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});
