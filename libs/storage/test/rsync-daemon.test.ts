import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStorage, StorageError, uploadDir } from "../src/index.ts";
import { needsProtectArgs } from "../src/backends/rsync-remote.ts";
import { describeStorage } from "./describe-storage.ts";
import { describeRsyncSpecifics } from "./rsync-specifics.ts";
import { startRsyncDaemon, type RsyncDaemonServer } from "./servers/rsync-daemon.ts";

// rsync://user@127.0.0.1:PORT/module/... against a real `rsync --daemon` (test/servers).

describeStorage("rsync daemon", async () => {
  const server = await startRsyncDaemon();
  return { url: `${server.url}/suite/`, options: { rsync: { passwordFile: server.passwordFile } }, dispose: () => server.stop() };
});

describeRsyncSpecifics("rsync daemon", async () => {
  const server = await startRsyncDaemon();
  return {
    url: `${server.url}/specifics/root/`,
    options: { rsync: { passwordFile: server.passwordFile } },
    remoteDir: `${server.dir}/specifics/root`,
    // The daemon's own files (config, secrets, log) sit beside the module directory.
    outsideDir: dirname(server.dir),
    dispose: () => server.stop(),
  };
});

describe("rsync daemon errors", () => {
  let server: RsyncDaemonServer;
  beforeAll(async () => {
    server = await startRsyncDaemon();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function failure(promise: Promise<unknown>): Promise<StorageError> {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }

  it("maps a wrong password to PermissionDenied without echoing any password", async () => {
    const { writeFile } = await import("node:fs/promises");
    const wrongFile = `${dirname(server.passwordFile)}/wrong.password`;
    await writeFile(wrongFile, "not-the-password\n", { mode: 0o600 });
    const storage = await openStorage(`${server.url}/p/`, { rsync: { passwordFile: wrongFile } });
    const error = await failure(storage.write("k", "v"));
    expect(error.kind).toBe("PermissionDenied");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("auth failed");
    expect(error.message).not.toContain("not-the-password");
    expect(error.message).not.toContain(server.password);
  });

  it("maps a missing password to PermissionDenied instead of prompting", async () => {
    const storage = await openStorage(`${server.url}/p/`, { env: {}, rsync: {} });
    const saved = process.env.RSYNC_PASSWORD;
    delete process.env.RSYNC_PASSWORD;
    try {
      expect((await failure(storage.stat("k"))).kind).toBe("PermissionDenied");
    } finally {
      if (saved !== undefined) process.env.RSYNC_PASSWORD = saved;
    }
  });

  it("maps an unknown module to NotFound", async () => {
    const storage = await openStorage(`rsync://${server.user}@127.0.0.1:${server.port}/no-such-module/p/`, { rsync: { passwordFile: server.passwordFile } });
    const error = await failure(storage.stat("k"));
    expect(error.kind).toBe("NotFound");
    expect(error.message).toContain("Unknown module 'no-such-module'");
  });

  it("maps a refused connection to a retryable Unavailable", async () => {
    const storage = await openStorage(`rsync://${server.user}@127.0.0.1:1/drover/`, { rsync: { passwordFile: server.passwordFile } });
    const error = await failure(storage.stat("k"));
    expect(error).toMatchObject({ kind: "Unavailable", retryable: true });
  });
});

describe("rsync daemon: -s only where a path needs it", () => {
  it("decides by scheme, --files-from and the paths after --", () => {
    const plain = ["-r", "--out-format=%i %l %n", "--", "/tmp/src/", "rsync://u@127.0.0.1:873/mod/a/b-c_d.e/"];
    expect(needsProtectArgs("rsync", plain)).toBe(false);
    expect(needsProtectArgs("ssh", plain)).toBe(true);
    for (const path of ["rsync://u@h/mod/a b/", "rsync://u@h/mod/a*/", "rsync://u@h/mod/[x]/", "rsync://u@h/mod/ä/", "rsync://u@h/mod/a?b", "/tmp/x y/"]) {
      expect(needsProtectArgs("rsync", ["-r", "--", "/tmp/src/", path]), path).toBe(true);
      expect(needsProtectArgs("rsync", ["-r", "--", path, "/tmp/dest/"]), path).toBe(true);
    }
    expect(needsProtectArgs("rsync", ["--from0", "--files-from=-", "--", "rsync://u@h/mod/", "/tmp/d/"])).toBe(true);
    expect(needsProtectArgs("rsync", ["--list-only"])).toBe(true); // no "--": nothing to judge
  });

  it("moves keys that a daemon would glob or split, under plain and odd prefixes, unchanged", async () => {
    await using server = await startRsyncDaemon();
    const storage = await openStorage(`${server.url}/globs/`, { rsync: { passwordFile: server.passwordFile } });
    const names = ["a*b.txt", "[x].txt", "q?.txt", "two words.txt", "plain.txt"];
    const src = await mkdtemp(join(tmpdir(), "drover-rsync-globs-"));
    try {
      for (const name of names) await writeFile(join(src, name), `content of ${name}`);
      for (const prefix of ["plain/", "odd [*] prefix/"]) {
        await uploadDir(src, storage, { prefix });
        const keys: string[] = [];
        for await (const entry of storage.list(prefix)) keys.push(entry.key);
        expect(keys.sort(), prefix).toEqual(names.map((n) => prefix + n).sort());
        for (const name of names) expect(Buffer.from(await storage.read(prefix + name)).toString(), prefix + name).toBe(`content of ${name}`);
        // A single key written and read on its own, too.
        await storage.write(`${prefix}single*.txt`, "one");
        expect(Buffer.from(await storage.read(`${prefix}single*.txt`)).toString()).toBe("one");
        expect(await storage.exists(`${prefix}single?.txt`)).toBe(false);
      }
    } finally {
      await storage.close();
      await rm(src, { recursive: true, force: true });
    }
  }, 60_000);
});
