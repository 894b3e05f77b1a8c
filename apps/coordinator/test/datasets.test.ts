import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { startTestCoordinator, type TestCoordinator } from "./helpers.ts";
import { failureOf } from "./support.ts";

const workflow = { kind: "bash" as const, script: "ls > listing.txt" };

async function as(t: TestCoordinator, role: "submitter" | "reader", user: string) {
  return t.client((await t.admin.tokens.create.mutate({ name: user, role, user })).token);
}

describe("projects, datasets, items and typed attributes", () => {
  it("a project's datasets default their storage prefix and visibility from it; slugs are unique", async () => {
    await using t = await startTestCoordinator();
    const alice = await as(t, "submitter", "alice");
    const project = await alice.projects.add.mutate({ slug: "birds", storageRoot: "s3://bucket/crunch?region=eu", workflow, description: "songs" });
    expect(project).toMatchObject({ slug: "birds", name: "birds", owner: "alice", visibility: "private", workflow, datasets: 0 });
    const ds = await alice.datasets.add.mutate({ project: "birds", slug: "wrens" });
    expect(ds).toMatchObject({ slug: "wrens", project: "birds", storagePrefix: "s3://bucket/crunch/birds/wrens/?region=eu", status: "unprocessed", files: 0, bytes: 0, manifestAt: null });
    expect((await alice.datasets.add.mutate({ project: "birds", slug: "owls", storagePrefix: "file:///data/owls", visibility: "public" })).storagePrefix).toBe("file:///data/owls/");
    expect((await alice.projects.get.query({ project: "birds" })).datasets).toBe(2);
    expect(await failureOf(alice.projects.add.mutate({ slug: "birds", storageRoot: "memory://", workflow }))).toMatchObject({ code: "ALREADY_EXISTS", httpStatus: 409 });
    await alice.projects.add.mutate({ slug: "fish", storageRoot: "memory://", workflow });
    expect(await failureOf(alice.datasets.add.mutate({ project: "fish", slug: "wrens" }))).toMatchObject({ code: "ALREADY_EXISTS", message: expect.stringContaining("unique across projects") });
    expect((await alice.datasets.list.query({ project: "birds" })).map((d) => d.slug)).toEqual(["owls", "wrens"]);
    expect((await alice.datasets.list.query({ status: "unprocessed" })).map((d) => d.slug)).toEqual(["owls", "wrens"]);
    expect(await failureOf(alice.projects.add.mutate({ slug: "Bad Slug", storageRoot: "memory://", workflow }))).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("slug") });
  });

  it("private projects and datasets are invisible to other submitters; public ones readable but not changeable", async () => {
    await using t = await startTestCoordinator();
    const alice = await as(t, "submitter", "alice");
    const bob = await as(t, "submitter", "bob");
    const reader = await as(t, "reader", "rita");
    await alice.projects.add.mutate({ slug: "secret", storageRoot: "memory://", workflow });
    await alice.datasets.add.mutate({ project: "secret", slug: "hidden" });
    await alice.datasets.add.mutate({ project: "secret", slug: "shown", visibility: "public" });
    expect(await failureOf(bob.projects.get.query({ project: "secret" }))).toMatchObject({ code: "NOT_FOUND" });
    expect(await failureOf(bob.datasets.get.query({ dataset: "hidden" }))).toMatchObject({ code: "NOT_FOUND" });
    expect((await bob.datasets.list.query({})).map((d) => d.slug)).toEqual(["shown"]);
    expect(await bob.projects.list.query()).toEqual([]);
    expect((await bob.datasets.get.query({ dataset: "shown" })).owner).toBe("alice");
    expect(await failureOf(bob.items.add.mutate({ dataset: "shown", slug: "x" }))).toMatchObject({ code: "FORBIDDEN" });
    expect(await failureOf(bob.datasets.add.mutate({ project: "secret", slug: "mine" }))).toMatchObject({ code: "NOT_FOUND" });
    expect((await reader.datasets.list.query({})).map((d) => d.slug)).toEqual(["hidden", "shown"]);
    expect(await failureOf(reader.items.add.mutate({ dataset: "hidden", slug: "x" }))).toMatchObject({ code: "FORBIDDEN" });
    await t.admin.items.add.mutate({ dataset: "hidden", slug: "by-admin" });
  });

  it("items form a tree; attributes are typed, inferred when no type is given, and refused naming the field when they do not fit", async () => {
    await using t = await startTestCoordinator();
    await t.admin.projects.add.mutate({ slug: "p", storageRoot: "memory://", workflow });
    await t.admin.datasets.add.mutate({ project: "p", slug: "d" });
    const site = await t.admin.items.add.mutate({ dataset: "d", slug: "site-1", attributes: { depth: "12", temp: 3.5, ok: "true", seen: "2024-03-01", where: "51.5,-0.12", size: "10 MB", link: "https://example.org/x", note: "calm" } });
    expect(site.parent).toBeNull();
    expect(Object.fromEntries(Object.entries(site.attributes).map(([k, a]) => [k, a.type]))).toEqual({
      depth: "int", temp: "float", ok: "bool", seen: "date", where: "lat-long", size: "filesize", link: "url", note: "char",
    });
    expect(site.attributes.depth!.value).toBe(12);
    expect(site.attributes.where!.value).toEqual({ lat: 51.5, lng: -0.12 });
    const child = await t.admin.items.add.mutate({ dataset: "d", slug: "site-1:dive-2", name: "second dive" });
    expect(child).toMatchObject({ slug: "site-1:dive-2", parent: "site-1", name: "second dive" });
    expect(await failureOf(t.admin.items.add.mutate({ dataset: "d", slug: "nowhere:child" }))).toMatchObject({ code: "NOT_FOUND", message: expect.stringContaining("nowhere") });
    expect(await failureOf(t.admin.items.add.mutate({ dataset: "d", slug: "site-1" }))).toMatchObject({ code: "ALREADY_EXISTS" });

    // A key keeps its type: "deep" is not an int. An explicit type is checked too.
    expect(await failureOf(t.admin.items.setAttribute.mutate({ dataset: "d", item: "site-1", key: "depth", value: "deep" }))).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("depth") });
    expect(await failureOf(t.admin.items.setAttribute.mutate({ dataset: "d", item: "site-1", key: "when", value: "2023-02-30", type: "date" }))).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("when") });
    expect((await t.admin.items.setAttribute.mutate({ dataset: "d", item: "site-1", key: "depth", value: "15" })).attributes.depth).toEqual({ type: "int", value: 15 });
    expect((await t.admin.items.setAttribute.mutate({ dataset: "d", item: "site-1:dive-2", key: "count", value: 7, type: "float" })).attributes.count).toEqual({ type: "float", value: 7 });
    // A bad attribute in an add refuses the whole item.
    expect(await failureOf(t.admin.items.add.mutate({ dataset: "d", slug: "site-2", attributes: { seen: "2023-02-30" } }))).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("attributes.seen") });
    expect(await failureOf(t.admin.items.setAttribute.mutate({ dataset: "d", item: "site-2", key: "x", value: 1 }))).toMatchObject({ code: "NOT_FOUND" });

    const all = await t.admin.items.list.query({ dataset: "d" });
    expect(all.items.map((i) => i.slug)).toEqual(["site-1", "site-1:dive-2"]);
    expect((await t.admin.items.list.query({ dataset: "d", parent: "site-1" })).items.map((i) => i.slug)).toEqual(["site-1:dive-2"]);
    const first = await t.admin.items.list.query({ dataset: "d", limit: 1 });
    expect(first.items).toHaveLength(1);
    expect((await t.admin.items.list.query({ dataset: "d", limit: 1, cursor: first.nextCursor! })).items[0]!.slug).toBe("site-1:dive-2");
  });

  it("the manifest is recomputed from the storage: added, changed and removed files, sha256 of each, paged by path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drover-manifest-"));
    try {
      await using t = await startTestCoordinator();
      const alice = await as(t, "submitter", "alice");
      const bob = await as(t, "submitter", "bob");
      await alice.projects.add.mutate({ slug: "p", storageRoot: pathToFileURL(dir).href, workflow });
      const ds = await alice.datasets.add.mutate({ project: "p", slug: "d" });
      const root = join(dir, "p", "d");
      await mkdir(join(root, "sub"), { recursive: true });
      const put = (path: string, text: string) => writeFile(join(root, path), text);
      const sha = (text: string) => createHash("sha256").update(text).digest("hex");
      await put("a.txt", "alpha");
      await put("sub/b.txt", "bravo");
      await put("c.txt", "charlie");
      expect(ds.storagePrefix).toBe(`${pathToFileURL(dir).href}/p/d/`);

      const first = await alice.datasets.refreshManifest.mutate({ dataset: "d" });
      expect(first).toMatchObject({ added: 3, changed: 0, removed: [], dataset: { files: 3, bytes: 17, manifestAt: expect.any(Number) } });
      const files = (await alice.datasets.files.query({ dataset: "d" })).files;
      expect(files.map((f) => [f.path, f.size, f.sha256])).toEqual([
        ["a.txt", 5, sha("alpha")],
        ["c.txt", 7, sha("charlie")],
        ["sub/b.txt", 5, sha("bravo")],
      ]);

      await put("a.txt", "ALPHA!");
      await rm(join(root, "c.txt"));
      await put("sub/d.txt", "delta");
      const second = await alice.datasets.refreshManifest.mutate({ dataset: "d" });
      expect(second).toMatchObject({ added: 1, changed: 1, removed: ["c.txt"], dataset: { files: 3, bytes: 16 } });
      const page = await alice.datasets.files.query({ dataset: "d", limit: 2 });
      expect(page.files.map((f) => f.path)).toEqual(["a.txt", "sub/b.txt"]);
      expect(page.files[0]!.sha256).toBe(sha("ALPHA!"));
      expect((await alice.datasets.files.query({ dataset: "d", limit: 2, cursor: page.nextCursor! })).files.map((f) => f.path)).toEqual(["sub/d.txt"]);
      // Private: Bob neither sees the files nor refreshes them.
      expect(await failureOf(bob.datasets.files.query({ dataset: "d" }))).toMatchObject({ code: "NOT_FOUND" });
      expect(await failureOf(bob.datasets.refreshManifest.mutate({ dataset: "d" }))).toMatchObject({ code: "NOT_FOUND" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
