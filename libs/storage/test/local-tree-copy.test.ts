import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copyTree, type TreeFile } from "../src/backends/local-dirs.ts";
import { tempPathFor } from "../src/backends/local-files.ts";
import { downloadDir, openStorage, StorageError, uploadDir, type TransferProgress } from "../src/index.ts";
import { compareKeys } from "../src/keys.ts";
import { yieldIfLong } from "../src/time-slice.ts";
import { driverOf } from "../src/storage.ts";

// Local storage hands uploadDir/downloadDir to its own tree copy (local-dirs.ts); the
// conformance suite covers the common contract, these cases what is particular to it.
describe("local storage: tree copies", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drover-local-tree-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A source tree: small files on both sides of SYNC_FILE_BYTES, nested. */
  async function tree(): Promise<Record<string, Buffer>> {
    const files: Record<string, Buffer> = {
      "small.bin": randomBytes(1000),
      "big.bin": randomBytes(300 * 1024),
      "deep/er/x.txt": Buffer.from("x"),
      "deep/empty": Buffer.alloc(0),
    };
    for (const [rel, data] of Object.entries(files)) {
      await mkdir(join(dir, "src", rel, ".."), { recursive: true });
      await writeFile(join(dir, "src", rel), data);
    }
    return files;
  }

  it("is the path uploadDir and downloadDir take, and reports totals, each file and skips", async () => {
    const files = await tree();
    const storage = await openStorage(join(dir, "store"));
    expect(driverOf(storage)?.downloadDir).toBeDefined();
    expect(driverOf(storage)?.uploadDir).toBeDefined();
    const events: TransferProgress[] = [];
    const up = await uploadDir(join(dir, "src"), storage, { prefix: "t/", onProgress: (p) => events.push(p) });
    expect(up).toMatchObject({ files: 4, skipped: 0, bytes: 1000 + 300 * 1024 + 1 });
    expect(events[0]).toMatchObject({ filesTotal: 4, bytesTotal: up.bytes, filesDone: 0 });
    // One event per file as it finishes (and a last one at the end, repeating it).
    expect([...new Set(events.map((e) => e.file).filter((f) => f !== undefined))]).toEqual(["big.bin", "deep/empty", "deep/er/x.txt", "small.bin"]);
    expect(events.at(-1)).toMatchObject({ filesDone: 4, bytesDone: up.bytes });

    await writeFile(join(dir, "src/small.bin"), randomBytes(1000)); // same size, new bytes
    const again: TransferProgress[] = [];
    expect(await uploadDir(join(dir, "src"), storage, { prefix: "t/", onProgress: (p) => again.push(p) })).toMatchObject({ files: 1, skipped: 3 });
    expect(again.at(-1)).toMatchObject({ filesDone: 4, filesSkipped: 3 });
    files["small.bin"] = await readFile(join(dir, "src/small.bin"));

    const down = await downloadDir(storage, join(dir, "out"), { prefix: "t/" });
    expect(down).toMatchObject({ files: 4, skipped: 0 });
    for (const [rel, data] of Object.entries(files)) expect(await readFile(join(dir, "out", rel))).toEqual(data);
    expect(await readdir(join(dir, "out"), { recursive: true })).toHaveLength(6); // 4 files, 2 directories: no temp files
  });

  it("copies what the generic transfer would, under any prefix", async () => {
    await tree();
    const local = await openStorage(join(dir, "store"));
    const memory = await openStorage(`memory://tree-copy-${Date.now()}/`);
    expect(driverOf(memory)?.downloadDir).toBeUndefined();
    for (const storage of [local, memory]) {
      await uploadDir(join(dir, "src"), storage, { prefix: "t/" });
      await uploadDir(join(dir, "src"), storage, { prefix: "t" }); // keys "tsmall.bin", "tdeep/…"
    }
    const treeOf = async (root: string): Promise<Record<string, string>> => {
      const out: Record<string, string> = {};
      for (const rel of (await readdir(root, { recursive: true })).sort()) {
        out[rel] = await readFile(join(root, rel)).then((b) => b.toString("base64").slice(0, 16), () => "dir");
      }
      return out;
    };
    for (const prefix of ["", "t/", "t", "t/de", "t/deep/", "td", "nothing/"]) {
      const name = prefix.replace(/\//g, "_") || "all";
      const fromLocal = await downloadDir(local, join(dir, "local", name), { prefix });
      const fromMemory = await downloadDir(memory, join(dir, "memory", name), { prefix });
      expect(fromLocal, prefix).toMatchObject({ files: fromMemory.files, bytes: fromMemory.bytes, skipped: 0 });
      if (fromMemory.files > 0) expect(await treeOf(join(dir, "local", name)), prefix).toEqual(await treeOf(join(dir, "memory", name)));
    }
    await memory.close();
  });

  it("stops at an abort with no temp file left, files already copied whole", async () => {
    await tree();
    const storage = await openStorage(join(dir, "store"));
    await uploadDir(join(dir, "src"), storage, { prefix: "t/" });
    const controller = new AbortController();
    const done = downloadDir(storage, join(dir, "out"), {
      prefix: "t/",
      signal: controller.signal,
      onProgress: (p) => {
        if (p.filesDone === 2) controller.abort();
      },
    });
    await expect(done).rejects.toMatchObject({ kind: "Aborted" });
    // Files in key order up to the abort; the directories were all made before the first copy.
    const left = (await readdir(join(dir, "out"), { recursive: true })).sort();
    expect(left).toEqual(["big.bin", "deep", "deep/empty", "deep/er"]);
    expect((await readFile(join(dir, "out/big.bin"))).length).toBe(300 * 1024);
  });

  it("names a source that has gone since it was listed, and leaves no temp file", async () => {
    await mkdir(join(dir, "out"));
    for (const size of [10, 300 * 1024]) {
      const copy = copyTree([{ key: "gone", rel: "gone", from: join(dir, "no-such-file"), to: join(dir, "out/gone"), size }], { fresh: true });
      await expect(copy).rejects.toMatchObject({ kind: "NotFound", key: "gone" });
    }
    expect(await readdir(join(dir, "out"))).toEqual([]);
  });

  it("keeps a prefix without a slash a directory, so no key can land outside the destination", async () => {
    for (const url of [join(dir, "store"), `memory://tree-prefix-${Date.now()}/`]) {
      const storage = await openStorage(url);
      await storage.write("t../escaped.txt", "outside"); // a valid key: "t..", not ".."
      await storage.write("t/inside.txt", "inside");
      await storage.write("tx", "beside");
      const parent = join(dir, `parent-${url.startsWith("memory") ? "memory" : "local"}`);
      expect(await downloadDir(storage, join(parent, "out"), { prefix: "t" })).toMatchObject({ files: 1 });
      expect(await readdir(parent, { recursive: true })).toEqual(["out", "out/inside.txt"]);
      await writeFile(join(parent, "a.bin"), "a");
      await uploadDir(parent, storage, { prefix: "up" });
      expect(await storage.exists("up/a.bin")).toBe(true);
      expect(await storage.exists("upa.bin")).toBe(false);
      await storage.close();
    }
  });

  it("fails with a StorageError naming the path when a file is in the way, as the generic path does", async () => {
    await tree();
    await mkdir(join(dir, "store"));
    await writeFile(join(dir, "store/t"), "a file where the prefix's directory goes");
    const storage = await openStorage(join(dir, "store"));
    const up = uploadDir(join(dir, "src"), storage, { prefix: "t/" });
    await expect(up).rejects.toBeInstanceOf(StorageError);
    await expect(up).rejects.toMatchObject({ kind: "AlreadyExists", message: expect.stringContaining(join(dir, "store/t")) });
  });

  it("refuses a tree whose paths are no valid keys (over 1,024 bytes)", async () => {
    const deep = join(dir, "src", ...Array.from({ length: 5 }, (_, i) => `${i}`.repeat(250)));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, "f"), "x");
    const storage = await openStorage(join(dir, "store"));
    await expect(uploadDir(join(dir, "src"), storage)).rejects.toMatchObject({ kind: "InvalidKey" });
    expect(await readdir(dir)).toEqual(["src"]);
  });

  it("copies files whose names are long in bytes (temp names are cut by bytes, not characters)", async () => {
    const name = "漢".repeat(80); // 240 bytes: legal, but not with a temp suffix after it
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "src", name), "kanji");
    for (const url of [join(dir, "store"), `memory://tree-long-${Date.now()}/`]) {
      const storage = await openStorage(url);
      await uploadDir(join(dir, "src"), storage, { prefix: "l/" });
      const out = join(dir, `out-${url.startsWith("memory") ? "memory" : "local"}`);
      await downloadDir(storage, out, { prefix: "l/" });
      expect(await readFile(join(out, name), "utf8")).toBe("kanji");
      await storage.close();
    }
  });

  it("makes a directory removed behind its back again", async () => {
    await mkdir(join(dir, "src/d"), { recursive: true });
    await writeFile(join(dir, "src/d/1"), "one");
    await writeFile(join(dir, "src/d/2"), "two");
    const files = ["1", "2"].map((n) => ({ key: `d/${n}`, rel: `d/${n}`, from: join(dir, "src/d", n), to: join(dir, "out/d", n), size: 3 }));
    await copyTree(files, {
      fresh: true,
      onProgress: (p) => {
        if (p.files === 1) rmSync(join(dir, "out/d"), { recursive: true });
      },
    });
    expect(await readdir(join(dir, "out/d"))).toEqual(["2"]);
  });

  it("removes the temp file of a large copy aborted midway, and renames nothing; a small one is not started", async () => {
    await mkdir(join(dir, "src"));
    const big = 300 * 1024;
    await writeFile(join(dir, "src/big"), randomBytes(big));
    await writeFile(join(dir, "src/small"), "small");
    const one = (name: string, size: number): TreeFile[] => [{ key: name, rel: name, from: join(dir, "src", name), to: join(dir, "out", name), size }];
    // A large file is copied through the thread pool. With a fresh time slice, copyTree runs
    // up to that copy before it returns, so this abort lands while the copy is in flight.
    while (yieldIfLong() !== undefined) await yieldIfLong();
    const controller = new AbortController();
    const copy = copyTree(one("big", big), { fresh: true, signal: controller.signal });
    controller.abort();
    await expect(copy).rejects.toMatchObject({ kind: "Aborted" });
    expect(await readdir(join(dir, "out"))).toEqual([]);
    // A small one is copied with synchronous calls, so an abort can only come before it.
    const early = new AbortController();
    const small = copyTree(one("small", 5), { fresh: true, signal: early.signal, onProgress: (p) => p.files === 0 && early.abort() });
    await expect(small).rejects.toMatchObject({ kind: "Aborted" });
    expect(await readdir(join(dir, "out"))).toEqual([]);
  });

  it("leaves alone a temp file whose name another writer took first", async () => {
    await mkdir(join(dir, "out"));
    await writeFile(join(dir, "src.txt"), "ours");
    const to = join(dir, "out/x.txt");
    // The name the next copy will try: same token and the next counter value.
    const next = tempPathFor(to).replace(/([0-9a-f]{8})\.tmp$/, (_, c: string) => `${(parseInt(c, 16) + 1).toString(16).padStart(8, "0")}.tmp`);
    await writeFile(next, "another writer's work in progress");
    const copy = copyTree([{ key: "x.txt", rel: "x.txt", from: join(dir, "src.txt"), to, size: 4 }], { fresh: true, retries: 0 });
    await expect(copy).rejects.toMatchObject({ kind: "AlreadyExists" });
    expect(await readFile(next, "utf8")).toBe("another writer's work in progress");
  });

  it("leaves uploads with fsync on to the generic path, whose writes sync each file", async () => {
    await tree();
    const storage = await openStorage(`file://${join(dir, "store")}?fsync=true`);
    expect(driverOf(storage)?.uploadDir).toBeUndefined();
    expect(await uploadDir(join(dir, "src"), storage, { prefix: "t/" })).toMatchObject({ files: 4 });
  });
});

describe("compareKeys", () => {
  it("orders keys as their UTF-8 bytes do, surrogate pairs and lone surrogates too", () => {
    // Every string of up to two characters from an alphabet around each boundary that matters.
    const alphabet = ["a", "/", "é", "\u07ff", "\u0800", "\ud7ff", "\ud800", "\udbff", "\udc00", "\udfff", "\ue000", "\ufffd", "\uffff", "😀", "𐀀", "\u{10ffff}"];
    const all = [""];
    for (const x of alphabet) {
      all.push(x);
      for (const y of alphabet) all.push(x + y);
    }
    for (const a of all) {
      for (const b of all) {
        const want = Buffer.compare(Buffer.from(a), Buffer.from(b));
        if (Math.sign(compareKeys(a, b)) !== want) expect.fail(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: ${compareKeys(a, b)}, UTF-8 says ${want}`);
      }
    }
  });
});
