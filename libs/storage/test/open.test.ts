import { describe, expect, it } from "vitest";
import { openStorage, parseStorageUrl, StorageError, STORAGE_ERROR_DOCS, STORAGE_ERROR_KINDS } from "../src/index.ts";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

async function configError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).kind).toBe("ConfigInvalid");
    return (error as StorageError).message;
  }
  throw new Error("expected ConfigInvalid");
}

describe("storage URLs", () => {
  it("parses every form", () => {
    expect(parseStorageUrl("memory://tests/a/b")).toMatchObject({ scheme: "memory", name: "tests", root: "a/b/" });
    expect(parseStorageUrl("file:///data/x/")).toMatchObject({ scheme: "file", path: "/data/x" });
    expect(parseStorageUrl("out/dir", "/work")).toMatchObject({ scheme: "file", path: "/work/out/dir" });
    expect(parseStorageUrl("/abs/path")).toMatchObject({ scheme: "file", path: "/abs/path" });
    expect(parseStorageUrl("s3://bucket/pre/fix?region=eu-west-1")).toMatchObject({ scheme: "s3", bucket: "bucket", root: "pre/fix/", query: { region: "eu-west-1" } });
    expect(parseStorageUrl("gs://bucket")).toMatchObject({ scheme: "gs", bucket: "bucket", root: "" });
    expect(parseStorageUrl("rsync://me@host:8730/mod/a/b")).toMatchObject({ scheme: "rsync", user: "me", host: "host", port: 8730, module: "mod", path: "a/b/" });
    expect(parseStorageUrl("me@host:/srv/data")).toMatchObject({ scheme: "ssh", user: "me", host: "host", path: "/srv/data" });
    expect(parseStorageUrl("ssh://me@host:2222/srv/data")).toMatchObject({ scheme: "ssh", port: 2222, path: "/srv/data" });
  });

  it("refuses bad URLs and options, naming them", async () => {
    expect(await configError(openStorage("ftp://x/y"))).toContain("unknown scheme 'ftp'");
    expect(await configError(openStorage("s3://"))).toContain("need a bucket");
    expect(await configError(openStorage("rsync://host/"))).toContain("module");
    expect(await configError(openStorage("s3://b/p/../../x"))).toContain("..");
    expect(await configError(openStorage("s3://b/p?accessKeyId=AKIA"))).toContain("'accessKeyId' is not accepted");
    expect(await configError(openStorage("s3://user:hunter2@b/p"))).not.toContain("hunter2");
    expect(await configError(openStorage("s3://b/p?endpoint=not-a-url"))).toContain("'endpoint'");
    expect(await configError(openStorage("s3://b/p", { s3: { partSize: 1024 } }))).toContain("'partSize'");
    expect(await configError(openStorage("file:///tmp/x?fsync=maybe"))).toContain("'fsync'");
    expect(await configError(openStorage("memory://m/x?anything=1"))).toContain("takes no options");
    expect(await configError(openStorage("s3://b/p", { env: { DROVER_S3_FORCE_PATH_STYLE: "perhaps" } }))).toContain("'forcePathStyle'");
  });
});

describe("storage error kinds", () => {
  it("are each documented in the catalog and in the README", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../../README.md"), "utf8");
    for (const kind of STORAGE_ERROR_KINDS) {
      expect(STORAGE_ERROR_DOCS[kind].length, kind).toBeGreaterThan(10);
      expect(readme, `README documents ${kind}`).toContain(`\`${kind}\``);
    }
  });
});
