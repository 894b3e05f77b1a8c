import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStorage, StorageError } from "../src/index.ts";
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
