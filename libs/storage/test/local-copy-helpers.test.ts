import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CopyLanes, endHelpersForTest, FILE_STATE } from "../src/backends/copy-helpers.ts";
import { copyTree, type TreeFile } from "../src/backends/local-dirs.ts";
import type { DirTransferProgress } from "../src/driver.ts";

// Helper threads of local tree copies: real worker threads copying real files beside the
// main thread. What matters: every file arrives whole exactly once, progress stays in key
// order, and an abort, a failure or a helper that dies leaves no temp file and loses nothing.
describe("local storage: helper threads of tree copies", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drover-copy-helpers-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** `count` files of a few KB under src/, in three directories, as TreeFiles into out/. */
  async function sources(count: number): Promise<{ files: TreeFile[]; data: Map<string, Buffer> }> {
    const data = new Map<string, Buffer>();
    const files: TreeFile[] = [];
    for (let i = 0; i < count; i++) {
      const rel = `d${i % 3}/f${String(i).padStart(4, "0")}`;
      const bytes = randomBytes(1000 + (i % 7) * 500);
      await mkdir(join(dir, "src", `d${i % 3}`), { recursive: true });
      await writeFile(join(dir, "src", rel), bytes);
      data.set(rel, bytes);
      files.push({ key: rel, rel, from: join(dir, "src", rel), to: join(dir, "out", rel), size: bytes.length });
    }
    files.sort((a, b) => (a.key < b.key ? -1 : 1));
    return { files, data };
  }

  /** Every file under out/: whole, and nothing else there (no temp file). */
  async function expectCopied(data: Map<string, Buffer>, only?: Set<string>): Promise<void> {
    const found = (await readdir(join(dir, "out"), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    const rels = found.map((e) => join(e.parentPath, e.name).slice(join(dir, "out").length + 1)).sort();
    for (const rel of rels) {
      expect(data.has(rel), `${rel} is no file of the source`).toBe(true);
      expect(await readFile(join(dir, "out", rel))).toEqual(data.get(rel));
    }
    if (only === undefined) expect(rels).toEqual([...data.keys()].sort());
    else expect(rels).toEqual([...only].sort());
  }

  it("a helper thread takes files from the shared counter, copies them into place, hands back what fails", async () => {
    const { files, data } = await sources(40);
    for (const d of ["d0", "d1", "d2"]) await mkdir(join(dir, "out", d), { recursive: true });
    const paths = files.map((f, i) => [f.from, join(dir, "out", `.tmp-${i}`), f.to] as [string, string, string]);
    // Two that fail: a source gone, and a temp name another writer holds (left alone).
    await rm(files[10]!.from);
    data.delete(files[10]!.rel);
    await writeFile(paths[20]![1], "someone else's");
    data.delete(files[20]!.rel);
    const lanes = new CopyLanes(paths, 1);
    // The main thread takes nothing: the helper, once started, does all.
    const final = (i: number): boolean => lanes.fileState(i) !== FILE_STATE.PENDING;
    const deadline = Date.now() + 30_000;
    while (!files.every((_, i) => final(i)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const expected = files.map((_, i) => (i === 10 || i === 20 ? FILE_STATE.HANDED_BACK : FILE_STATE.COPIED));
    expect(files.map((_, i) => lanes.fileState(i))).toEqual(expected);
    expect(lanes.claim()).toBeUndefined();
    expect(await readFile(paths[20]![1], "utf8")).toBe("someone else's");
    await rm(paths[20]![1]);
    await expectCopied(data);
  });

  it("copies with helpers: every file whole, one progress event per file in key order", async () => {
    const { files, data } = await sources(600);
    const events: DirTransferProgress[] = [];
    const result = await copyTree(files, { fresh: true, concurrency: 4, onProgress: (p) => events.push(p) });
    expect(result).toEqual({ files: 600, skipped: 0, bytes: files.reduce((s, f) => s + f.size, 0) });
    expect(events.map((e) => e.file).filter((f) => f !== undefined)).toEqual(files.map((f) => f.rel));
    expect(events.map((e) => e.files)).toEqual(Array.from({ length: 601 }, (_, i) => i));
    await expectCopied(data);
  });

  it("stops at an abort: no temp file, every file there whole, none renamed after the rejection", async () => {
    const { files, data } = await sources(600);
    const controller = new AbortController();
    const copy = copyTree(files, { fresh: true, concurrency: 4, signal: controller.signal, onProgress: (p) => p.files === 100 && controller.abort() });
    await expect(copy).rejects.toMatchObject({ kind: "Aborted" });
    const there = (await readdir(join(dir, "out"), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(there.length).toBeGreaterThanOrEqual(100);
    expect(there.length).toBeLessThan(600);
    await expectCopied(data, new Set(there.map((e) => join(e.parentPath, e.name).slice(join(dir, "out").length + 1))));
    await new Promise((r) => setTimeout(r, 100));
    expect((await readdir(join(dir, "out"), { recursive: true, withFileTypes: true })).filter((e) => e.isFile())).toHaveLength(there.length);
  });

  it("names a file a helper could not copy, and leaves no temp file", async () => {
    const { files, data } = await sources(300);
    // Gone since it was listed: whichever thread claims it, the main thread reports it.
    const gone = files[150]!;
    await rm(gone.from);
    data.delete(gone.rel);
    const copy = copyTree(files, { fresh: true, concurrency: 4 });
    await expect(copy).rejects.toMatchObject({ kind: "NotFound", key: gone.key });
    const there = (await readdir(join(dir, "out"), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    await expectCopied(data, new Set(there.map((e) => join(e.parentPath, e.name).slice(join(dir, "out").length + 1))));
  });

  it("finishes the copy when its helper threads die midway", async () => {
    const { files, data } = await sources(600);
    let ended: Promise<number> | undefined;
    const result = await copyTree(files, {
      fresh: true,
      concurrency: 4,
      onProgress: (p) => {
        if (p.files === 50) ended = endHelpersForTest();
      },
    });
    expect(await ended).toBeGreaterThan(0);
    expect(result.files).toBe(600);
    await expectCopied(data);
    // New helpers start for the next copy.
    await rm(join(dir, "out"), { recursive: true });
    expect((await copyTree(files, { fresh: true, concurrency: 4 })).files).toBe(600);
    await expectCopied(data);
  });

  it("keeps at most one helper per spare core, however many copies run at once", async () => {
    const { files, data } = await sources(200);
    await endHelpersForTest();
    const copies = [0, 1, 2, 3].map((n) =>
      copyTree(
        files.map((f) => ({ ...f, to: f.to.replace(`${join(dir, "out")}/`, `${join(dir, "out")}/c${n}/`) })),
        { fresh: true, concurrency: 8 },
      ),
    );
    expect((await Promise.all(copies)).map((r) => r.files)).toEqual([200, 200, 200, 200]);
    expect(await endHelpersForTest()).toBeLessThanOrEqual(Math.max(0, availableParallelism() - 1));
    for (const n of [0, 1, 2, 3]) {
      for (const [rel, bytes] of data) expect(await readFile(join(dir, "out", `c${n}`, rel))).toEqual(bytes);
    }
  });

  it("makes many directories in time slices: the event loop turns before the first copy", async () => {
    await writeFile(join(dir, "one"), "x");
    const files: TreeFile[] = Array.from({ length: 20_000 }, (_, i) => {
      const rel = `d${String(i).padStart(5, "0")}/f`;
      return { key: rel, rel, from: join(dir, "one"), to: join(dir, "out", rel), size: 1 };
    });
    let turns = 0;
    let counting = true;
    const spin = (): void => {
      if (!counting) return;
      turns++;
      setImmediate(spin);
    };
    let beforeFirstCopy: number | undefined;
    await copyTree(files, {
      fresh: true,
      concurrency: 1,
      onProgress: (p) => {
        if (p.files === 0) setImmediate(spin);
        else if (p.files === 1) beforeFirstCopy = turns;
      },
    });
    counting = false;
    // Without slices there is one turn only: the copy loop's own, before its first file.
    expect(beforeFirstCopy).toBeGreaterThan(2);
    expect(await readFile(join(dir, "out/d19999/f"), "utf8")).toBe("x");
  });

  it("copies on the main thread alone with concurrency 1", async () => {
    const { files, data } = await sources(100);
    await endHelpersForTest();
    const events: DirTransferProgress[] = [];
    await copyTree(files, { fresh: true, concurrency: 1, onProgress: (p) => events.push(p) });
    expect(await endHelpersForTest()).toBe(0); // none was started
    expect(events.map((e) => e.file).filter((f) => f !== undefined)).toEqual(files.map((f) => f.rel));
    await expectCopied(data);
  });
});
