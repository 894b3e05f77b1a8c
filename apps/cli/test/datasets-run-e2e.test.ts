// A crunch-style run end to end: the CLI, an in-process coordinator, worker processes
// started with `drover worker --project P`, and datasets stored in S3 (s3rver on loopback).
// The workflow is a real bash script; the test coordinates with it through marker files.
import { ADMIN_TOKEN, startTestCoordinator } from "@drover/coordinator/testing";
import type { DatasetRun } from "@drover/protocol";
import { openStorage, type Storage } from "@drover/storage";
import { startS3rver, type S3rverServer } from "@drover/storage/test-servers";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BIN, cli, until } from "./support.ts";

// s3rver checks no signatures, but the SDK must find credentials to sign with; the workers
// inherit these.
process.env["AWS_ACCESS_KEY_ID"] = "S3RVER";
process.env["AWS_SECRET_ACCESS_KEY"] = "S3RVER";
process.env["AWS_REGION"] = "us-east-1";

// Waits for the test's "go" file, so the test can kill a worker while its workflow runs.
// $PPID is the worker process that started bash.
const WORKFLOW = `set -eu
echo "workflow for $DROVER_DATASET on $DROVER_CORES cores"
echo "$PPID" > "$E2E_MARKERS/$DROVER_DATASET.$DROVER_ATTEMPT.pid"
while [ ! -f "$E2E_MARKERS/go" ]; do sleep 0.05; done
wc -l < data.csv | tr -d ' ' > count.txt
grep -o '"slug": "[^"]*"' dataset.json | head -n 1 > slug.txt
echo "processed" >> data.csv
rm stale.tmp
echo "done" >&2
`;

const FAILING = `if [ ! -f "$E2E_MARKERS/fixed" ]; then
  echo "reading input" >&2
  echo "bad record on line 3 of data.csv" >&2
  exit 3
fi
echo ok > result.txt
`;

let s3: S3rverServer;
beforeAll(async () => {
  s3 = await startS3rver({ bucket: "crunch" });
});
afterAll(async () => {
  await s3?.stop();
});

const cleanups: (() => PromiseLike<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), "drover-datasets-run-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const markers = join(dir, "markers");
  await mkdir(markers);
  const t = await startTestCoordinator({ reaperIntervalMs: 100 });
  cleanups.push(() => t[Symbol.asyncDispose]());
  const admin = { DROVER_URL: t.coordinator.url, DROVER_TOKEN: ADMIN_TOKEN };
  const { token: workerToken } = await t.admin.tokens.create.mutate({ name: "workers", role: "worker" });
  const workers: ChildProcess[] = [];
  cleanups.push(async () => {
    for (const w of workers) w.kill("SIGKILL");
  });
  const startWorker = (name: string, project: string): ChildProcess => {
    const w = spawn(
      process.execPath,
      [BIN, "worker", "--coordinator", t.coordinator.url, "--token", workerToken, "--name", name, "--project", project, "--work-dir", join(dir, "work"), "--poll-ms", "1000", "--log-level", "warn"],
      { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, E2E_MARKERS: markers } },
    );
    workers.push(w);
    return w;
  };
  const root = `s3://crunch/${dir.split("/").pop()}?endpoint=${encodeURIComponent(s3.endpoint)}&forcePathStyle=true`;
  const storage = await openStorage(root);
  cleanups.push(() => storage.close());
  return { dir, markers, t, admin, startWorker, root, storage };
}

async function text(storage: Storage, key: string): Promise<string> {
  return new TextDecoder().decode(await storage.read(key));
}

const stagesOf = (run: DatasetRun) => run.stages.map((s) => `${s.stage}:${s.state}`);

describe("drover datasets run: dataset workflows on leases, datasets in S3", () => {
  it("three datasets, two workers, one SIGKILLed mid-workflow: each completes exactly once with its outputs and deleted list", async () => {
    const { dir, markers, t, admin, startWorker, root, storage } = await setup();
    await writeFile(join(dir, "workflow.sh"), WORKFLOW);
    expect((await cli(["projects", "add", "survey", "--storage-root", root, "--workflow", join(dir, "workflow.sh")], admin)).code).toBe(0);
    expect((await cli(["projects", "add", "other", "--storage-root", root, "--script", "true"], admin)).code).toBe(0);
    const names = ["north", "south", "west"];
    for (const [i, name] of names.entries()) {
      expect((await cli(["datasets", "add", "survey", name], admin)).code).toBe(0);
      const local = join(dir, "local", name);
      await mkdir(join(local, "raw"), { recursive: true });
      await writeFile(join(local, "data.csv"), Array.from({ length: i + 2 }, (_, n) => `${name},${n}`).join("\n") + "\n");
      await writeFile(join(local, "stale.tmp"), "old");
      await writeFile(join(local, "raw", "keep.txt"), `kept ${name}`);
      const up = await cli(["datasets", "upload", name, local], admin);
      expect(up.out).toContain("3 files uploaded");
    }
    expect((await cli(["datasets", "add", "other", "elsewhere"], admin)).code).toBe(0);

    const queued = await cli(["datasets", "run", "--lease-seconds", "10"], admin);
    expect(queued.out, queued.out).toContain("4 queued, 0 skipped");
    // Queued again at once: every dataset has its run already.
    expect((await cli(["datasets", "run", "--project", "survey"], admin)).out).toContain("0 queued, 3 skipped");

    startWorker("w1", "survey");
    startWorker("w2", "survey");
    // Both workers are inside a workflow: kill the first one's worker with SIGKILL.
    const pids = await until("two workflows running", async () => {
      const files = (await readdir(markers)).filter((f) => f.endsWith(".pid"));
      return files.length === 2 ? files : undefined;
    });
    const victim = pids.sort()[0]!;
    const victimDataset = victim.split(".")[0]!;
    process.kill(Number((await readFile(join(markers, victim), "utf8")).trim()), "SIGKILL");
    await writeFile(join(markers, "go"), "");

    await until(
      "every survey dataset completed",
      async () => (await t.admin.datasets.list.query({ project: "survey" })).every((d) => d.status === "completed"),
      120_000,
    );

    for (const [i, name] of names.entries()) {
      const prefix = `survey/${name}/`;
      expect(await text(storage, `${prefix}count.txt`)).toBe(`${i + 2}\n`);
      expect(await text(storage, `${prefix}slug.txt`)).toBe(`"slug": "${name}"\n`);
      expect(await text(storage, `${prefix}data.csv`)).toMatch(/processed\n$/);
      // Deleted by the workflow: recorded, but not removed from storage.
      expect(await text(storage, `${prefix}stale.tmp`)).toBe("old");
      expect(await storage.exists(`${prefix}dataset.json`)).toBe(false);

      const runs = await t.admin.datasets.runs.query({ dataset: name, limit: 10 });
      const succeeded = runs.filter((r) => r.state === "succeeded");
      expect(succeeded, name).toHaveLength(1);
      const run = succeeded[0]!;
      expect(stagesOf(run)).toEqual(["setup:start", "setup:success", "workflow:start", "workflow:success", "upload:start", "upload:success"]);
      expect(run.uploaded).toEqual(["count.txt", "data.csv", "slug.txt"]);
      expect(run.deleted).toEqual(["stale.tmp"]);
      expect(run.diagnostics).toMatchObject({ cores: expect.any(Number), memoryBytes: expect.any(Number), versions: { node: process.version, bash: expect.stringContaining("bash") } });
      if (name === victimDataset) {
        // The killed attempt: a run that started its workflow and never ended.
        expect(runs).toHaveLength(2);
        const abandoned = runs.find((r) => r.state === "abandoned")!;
        expect(stagesOf(abandoned)).toEqual(["setup:start", "setup:success", "workflow:start"]);
        expect(abandoned.note).toContain("lease ended");
        expect(abandoned.attempt).toBeLessThan(run.attempt);
      } else {
        expect(runs).toHaveLength(1);
      }
      // The manifest was refreshed after the upload: the new files, with their sha256.
      const files = await t.admin.datasets.files.query({ dataset: name, limit: 100 });
      expect(files.files.map((f) => f.path)).toEqual(["count.txt", "data.csv", "raw/keep.txt", "slug.txt", "stale.tmp"]);
    }
    const job = await t.admin.jobs.get.query({ id: (await t.admin.datasets.get.query({ dataset: victimDataset })).jobId! });
    expect(job).toMatchObject({ status: "succeeded", result: { dataset: victimDataset, uploaded: 3, deleted: 1, exitCode: 0 } });
    // The workflow's output reached the job's log.
    const logs = await t.admin.jobs.logs.query({ id: job.id });
    expect(logs.map((l) => l.line)).toContainEqual(expect.stringMatching(new RegExp(`^workflow for ${victimDataset} on \\d+ cores$`)));
    expect(logs.map((l) => l.line)).toContain("[stderr] done");
    // Workers for "survey" never touched the other project's dataset.
    expect((await t.admin.datasets.get.query({ dataset: "elsewhere" })).status).toBe("running");
    const shown = await cli(["datasets", "runs", victimDataset], admin);
    expect(shown.out).toContain("abandoned");
    expect(shown.out).toContain("uploaded 3, deleted 1 (stale.tmp)");
  });

  it("a failing workflow fails its dataset with the stderr tail; retried after a fix it completes", async () => {
    const { dir, markers, t, admin, startWorker, root } = await setup();
    await writeFile(join(dir, "failing.sh"), FAILING);
    expect((await cli(["projects", "add", "broken", "--storage-root", root, "--workflow", join(dir, "failing.sh")], admin)).code).toBe(0);
    expect((await cli(["datasets", "add", "broken", "d1"], admin)).code).toBe(0);
    await mkdir(join(dir, "d1"));
    await writeFile(join(dir, "d1", "data.csv"), "a\nb\nc\n");
    expect((await cli(["datasets", "upload", "d1", join(dir, "d1")], admin)).code).toBe(0);
    expect((await cli(["datasets", "run", "--project", "broken"], admin)).out).toContain("1 queued");
    startWorker("w1", "broken");

    await until("the dataset to fail", async () => (await t.admin.datasets.get.query({ dataset: "d1" })).status === "failed");
    const [failed] = await t.admin.datasets.runs.query({ dataset: "d1", limit: 5 });
    expect(failed!.state).toBe("failed");
    expect(stagesOf(failed!)).toEqual(["setup:start", "setup:success", "workflow:start", "workflow:fail"]);
    expect(failed!.note).toContain("bash workflow exited with code 3");
    expect(failed!.note).toContain("bad record on line 3 of data.csv");
    const job = await t.admin.jobs.get.query({ id: (await t.admin.datasets.get.query({ dataset: "d1" })).jobId! });
    // A workflow that exits non-zero fails at once: running it again would fail the same way.
    expect(job).toMatchObject({ status: "failed", attempts: 1, error: { code: "WORKFLOW_FAILED" } });
    expect(job.error!.message).toContain("bad record on line 3");
    expect((await cli(["datasets", "run", "--project", "broken"], admin)).out).toContain("skipped (failed)");

    await writeFile(join(markers, "fixed"), "");
    expect((await cli(["datasets", "run", "--project", "broken", "--retry-failed"], admin)).out).toContain("1 queued");
    await until("the retried dataset to complete", async () => (await t.admin.datasets.get.query({ dataset: "d1" })).status === "completed");
    const runs = await t.admin.datasets.runs.query({ dataset: "d1", limit: 5 });
    expect(runs.map((r) => r.state)).toEqual(["succeeded", "failed"]);
    expect(runs[0]!.uploaded).toEqual(["result.txt"]);
    expect(existsSync(join(dir, "work")) ? (await readdir(join(dir, "work"))).length : 0).toBe(0);
  });
});
