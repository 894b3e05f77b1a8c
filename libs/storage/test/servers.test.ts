// The real test servers (test/servers/*) each start on a loopback port, carry one real round
// trip, and leave nothing listening once disposed.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Storage } from "@google-cloud/storage";
import { s3ClientOptions, startS3rver } from "./servers/s3rver.ts";
import { gcsStorageOptions, startGcsEmulator } from "./servers/gcs-emulator.ts";
import { startRsyncDaemon } from "./servers/rsync-daemon.ts";
import { startSshd } from "./servers/sshd.ts";
import { portIsOpen } from "./servers/util.ts";

const exec = promisify(execFile);

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "drover-servers-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A local tree to upload: two files, one in a subdirectory. */
async function makeTree(name: string): Promise<string> {
  const src = path.join(work, name);
  await mkdir(path.join(src, "sub"), { recursive: true });
  await writeFile(path.join(src, "a.txt"), "alpha\n");
  await writeFile(path.join(src, "sub", "b.bin"), Buffer.alloc(100_000, 7));
  return src;
}

async function expectSameTree(a: string, b: string): Promise<void> {
  expect(await readFile(path.join(b, "a.txt"), "utf8")).toBe(await readFile(path.join(a, "a.txt"), "utf8"));
  expect((await readFile(path.join(b, "sub", "b.bin"))).equals(await readFile(path.join(a, "sub", "b.bin")))).toBe(true);
}

describe("test servers", () => {
  it("s3rver: put, get, list with paging", async () => {
    const server = await startS3rver();
    const s3 = new S3Client(s3ClientOptions(server));
    try {
      expect(server.endpoint).toBe(`http://127.0.0.1:${server.port}`);
      for (const k of ["p/1", "p/2", "p/3"]) {
        await s3.send(new PutObjectCommand({ Bucket: server.bucket, Key: k, Body: `body of ${k}` }));
      }
      const got = await s3.send(new GetObjectCommand({ Bucket: server.bucket, Key: "p/2" }));
      expect(await got.Body?.transformToString()).toBe("body of p/2");
      const page1 = await s3.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: "p/", MaxKeys: 2 }));
      expect(page1.Contents?.map((o) => o.Key)).toEqual(["p/1", "p/2"]);
      expect(page1.IsTruncated).toBe(true);
      // The continuation token is what needs --openssl-legacy-provider in s3rver.
      const page2 = await s3.send(
        new ListObjectsV2Command({ Bucket: server.bucket, Prefix: "p/", MaxKeys: 2, ContinuationToken: page1.NextContinuationToken }),
      );
      expect(page2.Contents?.map((o) => o.Key)).toEqual(["p/3"]);
      expect(page2.IsTruncated).toBe(false);
    } finally {
      s3.destroy();
      await server[Symbol.asyncDispose]();
    }
    expect(await portIsOpen(server.port)).toBe(false);
  });

  it("GCS emulator: upload, download, list", async () => {
    const server = await startGcsEmulator();
    try {
      const bucket = new Storage(gcsStorageOptions(server)).bucket(server.bucket);
      await bucket.file("p/one.txt").save("one", { resumable: false, metadata: { metadata: { sha256: "x" } } });
      await bucket.file("p/two.bin").save(Buffer.alloc(300_000, 3), { resumable: true });
      await bucket.file("q/three").save("three", { resumable: false });
      expect((await bucket.file("p/one.txt").download())[0].toString()).toBe("one");
      expect((await bucket.file("p/two.bin").download())[0].equals(Buffer.alloc(300_000, 3))).toBe(true);
      expect((await bucket.file("p/one.txt").getMetadata())[0].metadata).toEqual({ sha256: "x" });
      const [files] = await bucket.getFiles({ prefix: "p/" });
      expect(files.map((f) => f.name)).toEqual(["p/one.txt", "p/two.bin"]);
    } finally {
      await server.stop();
    }
    expect(await portIsOpen(server.port)).toBe(false);
  });

  it("rsync daemon: upload and download with --password-file", async () => {
    const server = await startRsyncDaemon();
    try {
      const src = await makeTree("rsyncd-src");
      const back = path.join(work, "rsyncd-back");
      const auth = [`--password-file=${server.passwordFile}`];
      await exec("rsync", ["-a", ...auth, `${src}/`, `${server.url}/tree/`]);
      await expectSameTree(src, path.join(server.dir, "tree"));
      await exec("rsync", ["-a", ...auth, `${server.url}/tree/`, `${back}/`]);
      await expectSameTree(src, back);
    } finally {
      await server.stop();
    }
    expect(await portIsOpen(server.port)).toBe(false);
  });

  it("sshd: rsync over ssh, upload and download", async () => {
    const server = await startSshd();
    try {
      const src = await makeTree("ssh-src");
      const back = path.join(work, "ssh-back");
      const remote = `${server.user}@${server.host}:${server.dir}/tree/`;
      await exec("rsync", ["-a", "-e", server.sshCommand, `${src}/`, remote]);
      await expectSameTree(src, path.join(server.dir, "tree"));
      await exec("rsync", ["-a", "-e", server.sshCommand, remote, `${back}/`]);
      await expectSameTree(src, back);
    } finally {
      await server[Symbol.asyncDispose]();
    }
    expect(await portIsOpen(server.port)).toBe(false);
  });
});
