import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { downloadDir, openStorage, StorageError } from "../src/index.ts";
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
