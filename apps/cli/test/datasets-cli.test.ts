import { ADMIN_TOKEN, startTestCoordinator } from "@drover/coordinator/testing";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "./support.ts";

describe("drover projects / datasets / items / attributes", () => {
  it("builds a project, a dataset and an item tree with typed attributes from the CLI", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drover-datasets-cli-"));
    try {
      await using t = await startTestCoordinator();
      const env = { DROVER_URL: t.coordinator.url, DROVER_TOKEN: ADMIN_TOKEN };
      await writeFile(join(dir, "workflow.sh"), "ls > listing.txt\n");
      expect((await cli(["projects", "add", "birds", "--storage-root", "file:///data/crunch", "--workflow", join(dir, "workflow.sh")], env)).out).toContain("project birds (private)");
      expect((await cli(["datasets", "add", "birds", "wrens"], env)).out).toContain("files at file:///data/crunch/birds/wrens/");
      expect((await cli(["items", "add", "wrens", "site-1", "--attr", "depth=12", "--attr", "where=51.5,-0.12"], env)).out).toContain("depth=12");
      expect((await cli(["items", "add", "wrens", "site-1:dive-2", "--name", "second dive"], env)).code).toBe(0);
      expect((await cli(["attributes", "add", "wrens", "site-1", "seen", "2024-03-01", "--type", "date"], env)).out).toContain("seen = 2024-03-01 (date)");
      const bad = await cli(["attributes", "add", "wrens", "site-1", "depth", "deep"], env);
      expect(bad.code).toBe(1);
      expect(bad.out).toContain("INVALID_INPUT");
      expect(bad.out).toContain("depth");
      const shown = await cli(["datasets", "show", "wrens"], env);
      expect(shown.out).toMatch(/wrens\s+birds\s+unprocessed/);
      expect(shown.out).toContain("site-1:dive-2");
      expect(shown.out).toContain("second dive");
      const project = JSON.parse((await cli(["projects", "list", "--json"], env)).out) as { slug: string; workflow: { script: string }; datasets: number }[];
      expect(project).toMatchObject([{ slug: "birds", workflow: { script: "ls > listing.txt\n" }, datasets: 1 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
