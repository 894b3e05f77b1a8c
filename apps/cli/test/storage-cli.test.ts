import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "../bin/drover.mjs");

function drover(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [BIN, "storage", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((res) => proc.on("exit", (code) => res({ code, stdout, stderr })));
}

describe("drover storage (local files through the real CLI process)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "drover-storage-cli-"));
    await mkdir(join(dir, "src/sub"), { recursive: true });
    await writeFile(join(dir, "src/a.txt"), "alpha");
    await writeFile(join(dir, "src/sub/b.txt"), "bravo");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("copies a tree, then sync skips what is identical", async () => {
    const cp = await drover(["cp", "-r", "src", `file://${dir}/dst`], dir);
    expect(cp.code, cp.stderr).toBe(0);
    expect(cp.stderr).toContain("copied 2 files");
    expect(await readFile(join(dir, "dst/sub/b.txt"), "utf8")).toBe("bravo");
    await writeFile(join(dir, "src/a.txt"), "alpha, changed");
    const sync = await drover(["sync", "src", "dst"], dir);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stderr).toContain("synced 1 files");
    expect(sync.stderr).toContain("skipped 1 identical");
    expect(await readFile(join(dir, "dst/a.txt"), "utf8")).toBe("alpha, changed");
  });

  it("lists, stats, cats, copies one object and removes", async () => {
    const ls = await drover(["ls", "dst"], dir);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/a\.txt/);
    expect(ls.stdout).toMatch(/DIR\s+sub\//);
    const lsr = await drover(["ls", "-r", "--json", "dst"], dir);
    expect(lsr.stdout.trim().split("\n").map((l) => JSON.parse(l).key)).toEqual(["a.txt", "sub/b.txt"]);
    const st = await drover(["stat", "dst/sub/b.txt"], dir);
    expect(JSON.parse(st.stdout)).toMatchObject({ key: "b.txt", size: 5 });
    const cat = await drover(["cat", "dst/sub/b.txt"], dir);
    expect(cat.stdout).toBe("bravo");
    const one = await drover(["cp", "dst/sub/b.txt", "copies/"], dir);
    expect(one.code, one.stderr).toBe(0);
    expect(await readFile(join(dir, "copies/b.txt"), "utf8")).toBe("bravo");
    expect((await drover(["rm", "copies/b.txt"], dir)).code).toBe(0);
    expect(await readdir(join(dir, "copies"))).toEqual([]);
    const rmr = await drover(["rm", "-r", "dst"], dir);
    expect(rmr.stderr).toContain("deleted 2 objects");
  });

  it("names the problem and exits non-zero on bad URLs and missing objects", async () => {
    const bad = await drover(["ls", "s3://bucket/x?secretKey=abc"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("ConfigInvalid");
    expect(bad.stderr).toContain("secretKey");
    const missing = await drover(["cat", "nowhere/x.txt"], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("NotFound");
    const escape = await drover(["cat", "memory://m/../x"], dir);
    expect(escape.code).not.toBe(0);
  });
});
