import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copyTree } from "../src/backends/local-dirs.ts";
import { downloadDir, openStorage, uploadDir, type TransferProgress } from "../src/index.ts";
import { compareKeys } from "../src/keys.ts";
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
    const left = (await readdir(join(dir, "out"), { recursive: true })).sort();
    expect(left).toEqual(["big.bin", "deep", "deep/empty"]);
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

  it("leaves uploads with fsync on to the generic path, whose writes sync each file", async () => {
    await tree();
    const storage = await openStorage(`file://${join(dir, "store")}?fsync=true`);
    expect(driverOf(storage)?.uploadDir).toBeUndefined();
    expect(await uploadDir(join(dir, "src"), storage, { prefix: "t/" })).toMatchObject({ files: 4 });
  });
});

describe("compareKeys", () => {
  it("orders keys as their UTF-8 bytes do, surrogate pairs and all", () => {
    const alphabet = ["a", "b", "/", " ", "é", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\uffff", "😀", "𐀀", "\u{10ffff}"];
    const random = (): string => Array.from({ length: 1 + Math.floor(Math.random() * 4) }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join("");
    for (let i = 0; i < 5000; i++) {
      const a = random();
      const b = random();
      expect(Math.sign(compareKeys(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(Buffer.compare(Buffer.from(a), Buffer.from(b)));
    }
  });
});
