import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keysOf, kindOf } from "./helpers.ts";
import { rsyncDriver } from "../src/backends/rsync.ts";
import { downloadDir, openStorage, parseStorageUrl, StorageError, uploadDir, type OpenStorageOptions, type RsyncOptions, type Storage } from "../src/index.ts";

/**
 * Cases the conformance suite does not cover and that only the rsync backends need: shell
 * and glob characters in keys, rsync's own quick check, temp files on abort, and keys that
 * try to leave the root. Shared by the daemon and the ssh test files.
 */
export interface RsyncUnderTest {
  /** Storage root URL ending in "/". */
  url: string;
  options: OpenStorageOptions;
  /** The directory on disk that `url` names (to look at what really landed there). */
  remoteDir: string;
  /** A directory next to remoteDir's top that no key may reach. */
  outsideDir: string;
  dispose: () => Promise<void>;
}



export function describeRsyncSpecifics(name: string, factory: () => Promise<RsyncUnderTest>): void {
  describe(`rsync specifics: ${name}`, () => {
    let target: RsyncUnderTest;
    let storage: Storage;
    let scratch: string;

    beforeAll(async () => {
      target = await factory();
      storage = await openStorage(target.url, target.options);
      scratch = await mkdtemp(join(tmpdir(), "drover-rsync-test-"));
    }, 60_000);

    afterAll(async () => {
      await storage?.close();
      if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
      await target?.dispose();
    });

    // rsync expands wildcards in source arguments; a key "a*b" must never mean "axb".
    it("treats glob and shell characters in keys literally", async () => {
      const keys = ["glob/a*b", "glob/axb", "glob/[x]", "glob/x", "glob/q?", "glob/back\\slash", "glob/$HOME 'quote\" ;&|", "glob/-dash", "glob/nl\nname"];
      for (const key of keys) await storage.write(key, `content of ${key}`);
      for (const key of keys) expect(new TextDecoder().decode(await storage.read(key))).toBe(`content of ${key}`);
      expect((await storage.stat("glob/a*b")).size).toBe("content of glob/a*b".length);
      expect(await storage.exists("glob/a?b")).toBe(false);
      await storage.delete("glob/a*b");
      await storage.delete("glob/[x]");
      expect(await keysOf(storage, "glob/")).toEqual(keys.filter((k) => k !== "glob/a*b" && k !== "glob/[x]").sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      expect(await storage.deletePrefix("glob/")).toBe(keys.length - 2);
    }, 120_000); // ~30 rsync runs; over ssh each one is a new ssh session

    // Regression: rsync's quick check (size + mtime) skipped a rewrite of the same size
    // within the same second, silently keeping the old content (fixed by --ignore-times).
    it("rewrites an object of the same size within the same second", async () => {
      await storage.write("same/size", "AAAA");
      await storage.write("same/size", "BBBB");
      expect(new TextDecoder().decode(await storage.read("same/size"))).toBe("BBBB");
      await storage.delete("same/size");
    });

    it("leaves no rsync temp file behind when a write is aborted mid-transfer", async () => {
      const controller = new AbortController();
      const body = new Uint8Array(300 * 1024 * 1024);
      const watcher = setInterval(() => {
        readdir(join(target.remoteDir, "aborted")).then((names) => names.length > 0 && controller.abort(), () => undefined);
      }, 10);
      const kind = await kindOf(storage.write("aborted/big.bin", body, { signal: controller.signal }));
      clearInterval(watcher);
      expect(kind).toBe("Aborted");
      // rsync's receiver deletes its ".big.bin.XXXXXX" when the client goes away.
      const left = await readdir(join(target.remoteDir, "aborted")).catch(() => []);
      expect(left).toEqual([]);
      expect(await storage.exists("aborted/big.bin")).toBe(false);
    }, 60_000);

    it("never writes outside the root, even when the driver is called directly", async () => {
      const before = await readdir(target.outsideDir);
      for (const key of ["../x", "a/../../x", "/x", "..", "a/./b"]) {
        expect(await kindOf(storage.write(key, "x"))).toMatch(/PermissionDenied|InvalidKey/);
      }
      const parsed = parseStorageUrl(target.url);
      if (parsed.scheme !== "rsync" && parsed.scheme !== "ssh") throw new Error("not an rsync URL");
      const driver = await rsyncDriver({ ...(target.options.rsync as RsyncOptions), target: parsed });
      const data = Buffer.from("x");
      for (const key of ["../escape", "a/../../escape", "/tmp/escape"]) {
        expect(await kindOf(driver.write(key, { kind: "bytes", data, size: 1, sha256: "" }, {}))).toBe("PermissionDenied");
        expect(await kindOf(driver.delete(key))).toBe("PermissionDenied");
      }
      expect(await readdir(target.outsideDir)).toEqual(before);
    });

    it("refuses to open when rsync is missing", async () => {
      const options = { ...target.options, rsync: { ...target.options.rsync, rsyncPath: "/nonexistent/rsync" } };
      const error = await openStorage(target.url, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect(error).toMatchObject({ kind: "ConfigInvalid" });
      expect((error as Error).message).toContain("rsync is not installed");
    });

    it("moves 200 files up and down in one run each, skipping all of them the second time", async () => {
      const src = join(scratch, "tree-src");
      for (let i = 0; i < 200; i++) {
        await mkdir(join(src, `d${i % 7}`), { recursive: true });
        await writeFile(join(src, `d${i % 7}`, `f${i}.bin`), randomBytes(100 + i));
      }
      const up = await uploadDir(src, storage, { prefix: "tree/" });
      expect(up).toMatchObject({ files: 200, skipped: 0 });
      expect(up.bytes).toBe(200 * 100 + (199 * 200) / 2);
      expect(await uploadDir(src, storage, { prefix: "tree/" })).toMatchObject({ files: 0, skipped: 200, bytes: 0 });
      expect(await keysOf(storage, "tree/")).toHaveLength(200);

      const dest = join(scratch, "tree-dest", "nested");
      const progress: number[] = [];
      const down = await downloadDir(storage, dest, { prefix: "tree/", onProgress: (p) => progress.push(p.filesDone) });
      expect(down).toMatchObject({ files: 200, skipped: 0, bytes: up.bytes });
      expect(progress.at(-1)).toBe(200);
      expect(await downloadDir(storage, dest, { prefix: "tree/" })).toMatchObject({ files: 0, skipped: 200 });
      expect(await readFile(join(dest, "d3", "f10.bin"))).toEqual(await readFile(join(src, "d3", "f10.bin")));
      expect(await downloadDir(storage, join(scratch, "none"), { prefix: "no-such-prefix/" })).toMatchObject({ files: 0, skipped: 0 });
      expect(await storage.deletePrefix("tree/")).toBe(200);
    }, 120_000);
  });
}
