// Dataset runs at the protocol level: queueing, the project queue filter, and the lease
// fencing of the calls a dataset.workflow job makes. The end-to-end run with worker
// processes and S3 is in apps/cli/test/datasets-run-e2e.test.ts.
import { openStorage } from "@drover/storage";
import { describe, expect, it } from "vitest";
import { startTestCoordinator, type TestCoordinator } from "./helpers.ts";
import { failureOf, ref, sleep } from "./support.ts";

const workflow = { kind: "bash" as const, script: "true" };
const diagnostics = { host: "h", os: "Linux 6", arch: "x64", cores: 2, memoryBytes: 1024, freeMemoryBytes: 512, versions: { node: "v20", bash: "GNU bash 5.2" } };

async function as(t: TestCoordinator, user: string) {
  return t.client((await t.admin.tokens.create.mutate({ name: user, role: "submitter", user })).token);
}

/** A project in memory storage with datasets holding one file each. */
async function project(t: TestCoordinator, by: ReturnType<TestCoordinator["client"]>, slug: string, datasets: string[], visibility: "private" | "public" = "private") {
  const root = `memory://runs-${slug}-${Math.random().toString(36).slice(2)}`;
  await by.projects.add.mutate({ slug, storageRoot: root, workflow, visibility });
  for (const d of datasets) {
    await by.datasets.add.mutate({ project: slug, slug: d });
    const storage = await openStorage(`${root}/${slug}/${d}`);
    await storage.write("in.txt", `input of ${d}`);
    await storage.close();
  }
}

describe("dataset runs", () => {
  it("datasets.run queues each unprocessed dataset once, in its project's queue, only for those who may change it", async () => {
    await using t = await startTestCoordinator();
    const alice = await as(t, "alice");
    const bob = await as(t, "bob");
    await project(t, alice, "birds", ["wrens", "owls"]);
    await project(t, alice, "open", ["sky"], "public");
    await project(t, bob, "fish", ["cod"]);

    expect(await failureOf(bob.datasets.run.mutate({ datasets: ["wrens"] }))).toMatchObject({ code: "NOT_FOUND", message: expect.stringContaining("datasets.0") });
    expect(await failureOf(bob.datasets.run.mutate({ datasets: ["cod", "sky"] }))).toMatchObject({ code: "FORBIDDEN" });
    expect(await failureOf(alice.datasets.run.mutate({ project: "birds", datasets: ["sky"] }))).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("project 'open'") });
    // A dataset.workflow job Bob submits by hand for Alice's dataset is refused when it starts:
    // it reads nothing, runs nothing and leaves her dataset as it was.
    const { id: sneaky } = await bob.jobs.submit.mutate({ type: "dataset.workflow", queue: "dataset.workflow:birds", payload: { dataset: "wrens" } });
    const w = await t.worker(["dataset.workflow"]);
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["dataset.workflow"], max: 1 });
    expect(lease!.jobId).toBe(sneaky);
    expect(await failureOf(w.client.workflow.start.mutate({ lease: ref(lease!), diagnostics }))).toMatchObject({ code: "FORBIDDEN", message: expect.stringContaining("not queued by the owner") });
    expect(await failureOf(w.client.workflow.files.query({ lease: ref(lease!) }))).toMatchObject({ code: "FORBIDDEN" });
    expect(await alice.datasets.get.query({ dataset: "wrens" })).toMatchObject({ status: "unprocessed", jobId: null });
    await w.client.leases.fail.mutate({ workerId: w.workerId, leases: [{ ...ref(lease!), error: { message: "refused" }, retryable: false }] });
    // Bob's "everything" is his own datasets only.
    expect((await bob.datasets.run.mutate({})).queued.map((q) => q.dataset)).toEqual(["cod"]);

    const first = await alice.datasets.run.mutate({ project: "birds", cores: 3, priority: 5 });
    expect(first.queued.map((q) => q.dataset)).toEqual(["owls", "wrens"]);
    const job = await alice.jobs.get.query({ id: first.queued[0]!.jobId });
    expect(job).toMatchObject({ type: "dataset.workflow", queue: "dataset.workflow:birds", payload: { dataset: "owls", cores: 3 }, priority: 5, maxAttempts: 3 });
    expect((await alice.datasets.get.query({ dataset: "owls" })).status).toBe("running");
    expect(await alice.datasets.run.mutate({ project: "birds" })).toEqual({ queued: [], skipped: [{ dataset: "owls", status: "running" }, { dataset: "wrens", status: "running" }] });
    // A cancelled run leaves the dataset failed; only retryFailed queues it again.
    await alice.jobs.cancel.mutate({ id: job.id });
    expect((await alice.datasets.get.query({ dataset: "owls" })).status).toBe("failed");
    expect((await alice.datasets.run.mutate({ datasets: ["owls"] })).skipped).toEqual([{ dataset: "owls", status: "failed" }]);
    const again = await alice.datasets.run.mutate({ datasets: ["owls"], retryFailed: true });
    expect(again.queued).toHaveLength(1);
    expect((await alice.datasets.get.query({ dataset: "owls" })).jobId).toBe(again.queued[0]!.jobId);
    expect((await alice.datasets.list.query({ status: "running" })).map((d) => d.slug)).toEqual(["owls", "wrens"]);
  });

  it("a worker filtered to one project's queue leases only that project's runs", async () => {
    await using t = await startTestCoordinator();
    await project(t, t.admin, "a", ["a1"]);
    await project(t, t.admin, "b", ["b1"]);
    await t.admin.datasets.run.mutate({});
    const w = await t.worker(["dataset.workflow"]);
    const none = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["dataset.workflow"], queues: ["dataset.workflow:nope"], max: 5 });
    expect(none).toEqual([]);
    const got = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["dataset.workflow"], queues: ["dataset.workflow:b"], max: 5 });
    expect(got.map((l) => l.payload)).toEqual([{ dataset: "b1" }]);
  });

  it("the job's calls are fenced by its lease; a run records stages, uploads and deletions; an expired lease shows the run abandoned", async () => {
    await using t = await startTestCoordinator({ reaperIntervalMs: 50 });
    await project(t, t.admin, "p", ["d"]);
    const { queued } = await t.admin.datasets.run.mutate({ project: "p", leaseSeconds: 10 });
    const w = await t.worker(["dataset.workflow", "noop"]);
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["dataset.workflow"], max: 1 });
    const mine = ref(lease!);

    expect(await failureOf(w.client.workflow.start.mutate({ lease: { ...mine, leaseId: "guessed" }, diagnostics }))).toMatchObject({ code: "LEASE_CONFLICT", httpStatus: 409 });
    expect(await failureOf(w.client.workflow.stage.mutate({ lease: mine, stage: "workflow", state: "start" }))).toMatchObject({ code: "INVALID_STATE", message: expect.stringContaining("workflow.start") });
    const started = await w.client.workflow.start.mutate({ lease: mine, diagnostics });
    expect(started).toMatchObject({ dataset: { slug: "d", status: "running", files: 1 }, project: { slug: "p", workflow } });
    // A repeat (the answer was lost) finds the same run.
    expect((await w.client.workflow.start.mutate({ lease: mine, diagnostics })).runId).toBe(started.runId);
    expect((await w.client.workflow.files.query({ lease: mine })).files.map((f) => f.path)).toEqual(["in.txt"]);

    // Another job for the same dataset (submitted by hand) may not run while this run is live.
    await t.admin.jobs.submit.mutate({ type: "dataset.workflow", payload: { dataset: "d" } });
    const [other] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["dataset.workflow"], max: 1 });
    expect(await failureOf(w.client.workflow.start.mutate({ lease: ref(other!), diagnostics }))).toMatchObject({ code: "INVALID_STATE", message: expect.stringContaining(`job ${queued[0]!.jobId}`) });
    await w.client.leases.release.mutate({ workerId: w.workerId, leases: [ref(other!)] });
    await t.admin.jobs.cancel.mutate({ id: other!.jobId });

    // Not a dataset job: refused, naming the field.
    await t.admin.jobs.submit.mutate({ type: "noop" });
    const [noop] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"], max: 1 });
    expect(await failureOf(w.client.workflow.files.query({ lease: ref(noop!) }))).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("not 'dataset.workflow'") });

    await w.client.workflow.stage.mutate({ lease: mine, stage: "setup", state: "success" });
    await w.client.workflow.stage.mutate({ lease: mine, stage: "workflow", state: "start" });
    await w.client.workflow.stage.mutate({ lease: mine, stage: "workflow", state: "success" });
    await w.client.workflow.stage.mutate({ lease: mine, stage: "upload", state: "start" });
    const storage = await openStorage(started.dataset.storagePrefix);
    await storage.write("out.txt", "result");
    await storage.close();
    expect(await w.client.workflow.finish.mutate({ lease: mine, uploaded: ["out.txt"], deleted: ["gone.txt"] })).toMatchObject({ files: 2, added: 1, changed: 0 });
    await w.client.leases.complete.mutate({ workerId: w.workerId, leases: [mine] });
    expect((await t.admin.datasets.get.query({ dataset: "d" })).status).toBe("completed");
    // After the lease ended, its calls change nothing.
    expect(await failureOf(w.client.workflow.stage.mutate({ lease: mine, stage: "upload", state: "fail", note: "late" }))).toMatchObject({ code: "LEASE_CONFLICT" });
    const [run] = await t.admin.datasets.runs.query({ dataset: "d" });
    expect(run).toMatchObject({
      state: "succeeded",
      jobId: queued[0]!.jobId,
      attempt: 1,
      workerId: w.workerId,
      uploaded: ["out.txt"],
      deleted: ["gone.txt"],
      diagnostics,
      note: null,
    });
    expect(run!.stages.map((s) => `${s.stage}:${s.state}`)).toEqual(["setup:start", "setup:success", "workflow:start", "workflow:success", "upload:start", "upload:success"]);

    // A run whose lease expires (a job submitted by hand becomes the dataset's latest run
    // when it starts): abandoned, and the job is queued again.
    const { id } = await t.admin.jobs.submit.mutate({ type: "dataset.workflow", payload: { dataset: "d" }, leaseSeconds: 1 });
    const [second] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["dataset.workflow"], max: 1 });
    expect(second!.jobId).toBe(id);
    await w.client.workflow.start.mutate({ lease: ref(second!), diagnostics });
    expect((await t.admin.datasets.get.query({ dataset: "d" })).jobId).toBe(id);
    for (let i = 0; i < 200 && (await t.admin.jobs.get.query({ id })).status === "leased"; i++) await sleep(20);
    const [abandoned] = await t.admin.datasets.runs.query({ dataset: "d", limit: 1 });
    expect(abandoned).toMatchObject({ state: "abandoned", jobId: second!.jobId, note: expect.stringContaining("lease ended") });
    expect((await t.admin.datasets.get.query({ dataset: "d" })).status).toBe("running");
  });
});
