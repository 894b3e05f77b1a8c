import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStorage, StorageError } from "../src/index.ts";
import { describeStorage } from "./describe-storage.ts";
import { describeRsyncSpecifics } from "./rsync-specifics.ts";
import { startSshd, type SshdServer } from "./servers/sshd.ts";

// ssh://user@127.0.0.1:PORT/abs/dir against a real sshd (test/servers), rsync over ssh.

const sshOptions = (server: SshdServer) => ({ rsync: { sshKey: server.keyFile, knownHostsFile: server.knownHostsFile } });
const urlOf = (server: SshdServer, path: string) => `ssh://${server.user}@127.0.0.1:${server.port}${path}`;

describeStorage("rsync over ssh", async () => {
  const server = await startSshd();
  return { url: urlOf(server, `${server.dir}/suite/`), options: sshOptions(server), dispose: () => server.stop() };
});

describeRsyncSpecifics("rsync over ssh", async () => {
  const server = await startSshd();
  return {
    url: urlOf(server, `${server.dir}/specifics/`),
    options: sshOptions(server),
    remoteDir: `${server.dir}/specifics`,
    // Over ssh nothing but our own checks keep a key inside the root: the server's key
    // files sit right beside its remote dir.
    outsideDir: dirname(server.dir),
    dispose: () => server.stop(),
  };
});

describe("rsync over ssh errors", () => {
  let server: SshdServer;
  beforeAll(async () => {
    server = await startSshd();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function kindOf(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    return (error as StorageError).kind;
  }

  it("maps a key the server does not accept to PermissionDenied", async () => {
    // IdentityFile=/dev/null: no usable key at all (BatchMode keeps ssh from prompting).
    const storage = await openStorage(urlOf(server, `${server.dir}/x/`), {
      rsync: { knownHostsFile: server.knownHostsFile, sshOptions: ["IdentityFile=/dev/null", "IdentitiesOnly=yes"] },
    });
    expect(await kindOf(storage.stat("k"))).toBe("PermissionDenied");
  });

  it("maps an unknown host key to PermissionDenied", async () => {
    const storage = await openStorage(urlOf(server, `${server.dir}/x/`), { rsync: { sshKey: server.keyFile, knownHostsFile: "/dev/null" } });
    expect(await kindOf(storage.stat("k"))).toBe("PermissionDenied");
  });

  it("maps a refused connection to Unavailable", async () => {
    const storage = await openStorage(urlOf({ ...server, port: 1 }, `${server.dir}/x/`), sshOptions(server));
    expect(await kindOf(storage.stat("k"))).toBe("Unavailable");
  });

  it("deletes keys but keeps the root directory", async () => {
    const { readdir, stat } = await import("node:fs/promises");
    const storage = await openStorage(urlOf(server, `${server.dir}/kept/`), sshOptions(server));
    await storage.write("a/b/c", "x");
    await storage.delete("a/b/c");
    expect((await stat(`${server.dir}/kept`)).isDirectory()).toBe(true);
    expect(await readdir(`${server.dir}/kept`)).toEqual([]);
  });
});
