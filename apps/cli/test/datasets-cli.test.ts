import { ADMIN_TOKEN, startTestCoordinator } from "@drover/coordinator/testing";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { cli } from "./support.ts";

describe("drover projects / datasets / items / attributes", () => {
  it("builds a project, a dataset and an item tree with typed attributes from the CLI", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drover-datasets-cli-"));
    try {
      await using t = await startTestCoordinator();
      const env = { DROVER_URL: t.coordinator.url, DROVER_TOKEN: ADMIN_TOKEN };
      await writeFile(join(dir, "workflow.sh"), "ls > listing.txt\n");
      const root = pathToFileURL(join(dir, "store")).href;
      expect((await cli(["projects", "add", "birds", "--storage-root", root, "--workflow", join(dir, "workflow.sh")], env)).out).toContain("project birds (private)");
      expect((await cli(["datasets", "add", "birds", "wrens"], env)).out).toContain(`files at ${root}/birds/wrens/`);
      await mkdir(join(dir, "local", "songs"), { recursive: true });
      await writeFile(join(dir, "local", "songs", "a.wav"), "aaaa");
      await writeFile(join(dir, "local", "notes.txt"), "notes");
      expect((await cli(["datasets", "upload", "wrens", join(dir, "local")], env)).out).toContain("2 files uploaded (9 bytes), 0 unchanged; manifest: 2 files, 2 added");
      expect((await cli(["datasets", "upload", "wrens", join(dir, "local")], env)).out).toContain("0 files uploaded (0 bytes), 2 unchanged");
      const files = JSON.parse((await cli(["datasets", "files", "wrens", "--json"], env)).out) as { files: { path: string; size: number }[] };
      expect(files.files.map((f) => [f.path, f.size])).toEqual([["notes.txt", 5], ["songs/a.wav", 4]]);
      expect((await cli(["items", "add", "wrens", "site-1", "--attr", "depth=12", "--attr", "where=51.5,-0.12"], env)).out).toContain("depth=12");
      expect((await cli(["items", "add", "wrens", "site-1:dive-2", "--name", "second dive"], env)).code).toBe(0);
      expect((await cli(["attributes", "add", "wrens", "site-1", "seen", "2024-03-01", "--type", "date"], env)).out).toContain("seen = 2024-03-01 (date)");
      const bad = await cli(["attributes", "add", "wrens", "site-1", "depth", "deep"], env);
      expect(bad.code).toBe(1);
      expect(bad.out).toContain("INVALID_INPUT");
      expect(bad.out).toContain("depth");
      const shown = await cli(["datasets", "show", "wrens"], env);
      expect(shown.out).toMatch(/wrens\s+birds\s+unprocessed\s+2\s+9/);
      expect(shown.out).toContain("site-1:dive-2");
      expect(shown.out).toContain("second dive");
      const project = JSON.parse((await cli(["projects", "list", "--json"], env)).out) as { slug: string; workflow: { script: string }; datasets: number }[];
      expect(project).toMatchObject([{ slug: "birds", workflow: { script: "ls > listing.txt\n" }, datasets: 1 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("drover hub ls / manifest / get / pull / cache: public without a token, a verified local cache", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drover-hub-cli-"));
    try {
      await using t = await startTestCoordinator();
      const admin = { DROVER_URL: t.coordinator.url, DROVER_TOKEN: ADMIN_TOKEN };
      const root = pathToFileURL(join(dir, "store")).href;
      expect((await cli(["projects", "add", "maps", "--storage-root", root, "--script", "true", "--public"], admin)).code).toBe(0);
      expect((await cli(["datasets", "add", "maps", "tiles"], admin)).code).toBe(0);
      await mkdir(join(dir, "local", "z1"), { recursive: true });
      await writeFile(join(dir, "local", "z1", "a.png"), "png a");
      await writeFile(join(dir, "local", "z1", "b.png"), "png b");
      await writeFile(join(dir, "local", "readme.txt"), "tiles");
      expect((await cli(["datasets", "upload", "tiles", join(dir, "local")], admin)).code).toBe(0);
      // No token: the public dataset only.
      const anon = { DROVER_URL: t.coordinator.url, DROVER_HUB_CACHE: join(dir, "cache") };
      expect((await cli(["hub", "ls"], anon)).out).toMatch(/tiles\s+maps\s+3\s+15 B\s+public/);
      expect((await cli(["hub", "manifest", "tiles"], anon)).out).toContain("3 files, 15 B");
      const got = await cli(["hub", "get", "tiles", "z1/a.png"], anon);
      expect(got.out.trim()).toBe(join(dir, "cache", "tiles", "z1", "a.png"));
      const pulled = await cli(["hub", "pull", "tiles", "--filter", "z1/*.png"], anon);
      expect(pulled.out).toContain("2 files (10 B) of tiles");
      expect(await readFile(join(dir, "cache", "tiles", "z1", "b.png"), "utf8")).toBe("png b");
      expect((await cli(["hub", "cache", "--clear"], anon)).out).toMatch(/B freed/);
      const missing = await cli(["hub", "get", "tiles", "../x"], anon);
      expect(missing.code).toBe(1);
      expect(missing.out).toContain("not a file path inside a dataset");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
