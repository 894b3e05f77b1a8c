// The pieces of dataset.workflow that need no coordinator: running the workflow process,
// the setup stage's path checks and the upload stage's diff. Real bash, real files,
// memory:// storage. The whole job against a coordinator, workers and S3 runs in
// apps/cli/test/datasets-run-e2e.test.ts.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStorage } from "@drover/storage";
import { afterAll, describe, expect, it } from "vitest";
import { fetchFiles, localPathOf } from "../src/dataset/fetch-files.ts";
import { pushBack } from "../src/dataset/push-back.ts";
import { runWorkflow } from "../src/dataset/run-workflow.ts";
import { NonRetryableError } from "../src/errors.ts";

const root = await mkdtemp(join(tmpdir(), "drover-dataset-wf-"));
afterAll(() => rm(root, { recursive: true, force: true }));
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

async function script(name: string, text: string): Promise<string> {
  const path = join(root, name);
  await writeFile(path, text);
  return path;
}

const base = { cores: 2, env: {}, signal: new AbortController().signal };

describe("runWorkflow", () => {
  it("streams stdout and stderr line by line, keeps the stderr tail, and hides the worker's token", async () => {
    process.env["DROVER_TOKEN"] = "worker-secret-token";
    const lines: string[] = [];
    try {
      const out = await runWorkflow({
        ...base,
        kind: "bash",
        scriptPath: await script("a.sh", 'echo "one $DROVER_X"\necho "two" >&2\necho "token=${DROVER_TOKEN:-none}"\nexit 4\n'),
        cwd: root,
        env: { DROVER_X: "x" },
        onLine: (l) => lines.push(l),
      });
      expect(out).toEqual({ exitCode: 4, signal: null, stderrTail: "two\n" });
      expect(lines).toEqual(expect.arrayContaining(["one x", "[stderr] two", "token=none"]));
    } finally {
      delete process.env["DROVER_TOKEN"];
    }
  });

  it("a Snakefile on a worker without snakemake fails for good with a clear error", async () => {
    process.env["DROVER_SNAKEMAKE"] = join(root, "no-such-snakemake");
    try {
      const error = await runWorkflow({ ...base, kind: "snakemake", scriptPath: await script("Snakefile", "rule all:\n  shell: 'true'\n"), cwd: root, onLine: () => {} }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonRetryableError);
      expect(error).toMatchObject({ code: "WORKFLOW_RUNNER_MISSING", message: expect.stringContaining("not installed on this worker") });
    } finally {
      delete process.env["DROVER_SNAKEMAKE"];
    }
  });

  it("runs a Snakefile with snakemake --cores N in the dataset's directory", async () => {
    const data = join(root, "sm-data");
    await mkdir(data, { recursive: true });
    await writeFile(join(data, "data.csv"), "a\nb\nc\n");
    const snakefile = await script(
      "Snakefile",
      'rule all:\n    input: "count.txt"\n\nrule count:\n    input: "data.csv"\n    output: "count.txt"\n    threads: 8\n    shell: "wc -l < {input} > {output}; echo threads={threads}"\n',
    );
    const lines: string[] = [];
    const out = await runWorkflow({ ...base, kind: "snakemake", scriptPath: snakefile, cwd: data, cores: 2, onLine: (l) => lines.push(l) });
    expect(out.exitCode, out.stderrTail).toBe(0);
    expect((await readFile(join(data, "count.txt"), "utf8")).trim()).toBe("3");
    // Snakemake caps a rule's threads at --cores.
    expect(lines).toContain("threads=2");
  });

  it("an abort kills the whole process group, children included", async () => {
    const controller = new AbortController();
    const marker = join(root, "child-survived");
    const started = runWorkflow({
      ...base,
      kind: "bash",
      // The child outlives bash unless the group is killed.
      scriptPath: await script("b.sh", `(sleep 2; touch ${marker}) &\necho started\nwait\n`),
      cwd: root,
      signal: controller.signal,
      onLine: (l) => l === "started" && controller.abort(),
    });
    const out = await started;
    expect(out.signal).toBe("SIGTERM");
    await new Promise((r) => setTimeout(r, 2500));
    expect(existsSync(marker)).toBe(false);
  });
});

describe("the setup and upload stages", () => {
  it("a manifest path that leaves the dataset directory is refused", () => {
    expect(() => localPathOf(join(root, "d"), "../x")).toThrow(/leaves the dataset directory/);
    expect(() => localPathOf(join(root, "d"), "/etc/passwd")).toThrow(/leaves the dataset directory/);
    expect(localPathOf(join(root, "d"), "a/b.txt")).toBe(join(root, "d", "a", "b.txt"));
  });

  it("fetches files verified by sha256 (a mismatch fails and leaves no copy); pushes back only new or changed files and lists deleted ones", async () => {
    const storage = await openStorage(`memory://wf-${Date.now()}/ds`);
    await storage.write("a.txt", "alpha");
    await storage.write("sub/b.txt", "beta");
    await storage.write("gone.txt", "old");
    const manifest = new Map([
      ["a.txt", { size: 5, sha256: sha("alpha") }],
      ["sub/b.txt", { size: 4, sha256: sha("beta") }],
      ["gone.txt", { size: 3, sha256: sha("old") }],
    ]);
    const dir = join(root, "work");
    expect(await fetchFiles(storage, manifest, dir, { concurrency: 2, signal: base.signal })).toEqual({ files: 3, bytes: 12 });

    const bad = new Map([["a.txt", { size: 5, sha256: sha("other") }]]);
    const badDir = join(root, "bad");
    await expect(fetchFiles(storage, bad, badDir, { concurrency: 1, signal: base.signal })).rejects.toMatchObject({ kind: "ChecksumMismatch" });
    expect(existsSync(join(badDir, "a.txt"))).toBe(false);

    // What a workflow does: change one file, add one, delete one, leave one; the run's own files stay home.
    await writeFile(join(dir, "a.txt"), "ALPHA");
    await writeFile(join(dir, "new.txt"), "fresh");
    await rm(join(dir, "gone.txt"));
    await writeFile(join(dir, "dataset.json"), "{}");
    await mkdir(join(dir, ".snakemake"), { recursive: true });
    await writeFile(join(dir, ".snakemake", "log"), "x");
    const pushed = await pushBack(storage, dir, manifest, { concurrency: 2, signal: base.signal });
    expect(pushed).toEqual({ uploaded: ["a.txt", "new.txt"], uploadedBytes: 10, deleted: ["gone.txt"] });
    expect(new TextDecoder().decode(await storage.read("a.txt"))).toBe("ALPHA");
    expect(await storage.exists("gone.txt")).toBe(true);
    expect(await storage.exists("dataset.json")).toBe(false);
    await storage.close();
  });
});
