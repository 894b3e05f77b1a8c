import { ADMIN_TOKEN, startTestCoordinator, type TestCoordinator } from "@drover/coordinator/testing";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, cli, until } from "./support.ts";

const SIZE = 48 * 1024;

/** The bytes of file `name`: deterministic, so the test can check every download. */
function body(name: string): Buffer {
  const out = Buffer.alloc(SIZE);
  let seed = createHash("sha256").update(name).digest();
  for (let at = 0; at < SIZE; at += seed.length) {
    seed.copy(out, at);
    seed = createHash("sha256").update(seed).digest();
  }
  return out;
}

/**
 * Loopback file servers, one port per "host" (a host's group key is host:port), that drip
 * each body over a few hundred ms and count the downloads they are serving at once: the
 * caps are checked from the server's side, not from what the coordinator believes.
 */
class CountingHosts {
  readonly servers: Server[] = [];
  readonly active = new Map<number, number>();
  readonly maxActive = new Map<number, number>();
  readonly requests = new Map<number, number>();
  total = 0;
  maxTotal = 0;
  /** While true, bodies stop after their first part until release(): a download stays running as long as a test needs. */
  holding = false;
  private held: (() => void)[] = [];

  static async start(hosts: number, dripMs: number): Promise<CountingHosts> {
    const h = new CountingHosts();
    for (let i = 0; i < hosts; i++) {
      const server = createServer((req, res) => h.serve(server, req.url ?? "", res, dripMs));
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      h.servers.push(server);
    }
    return h;
  }

  port(i: number): number {
    return (this.servers[i]!.address() as AddressInfo).port;
  }

  release(): void {
    this.holding = false;
    for (const go of this.held.splice(0)) go();
  }

  requestsTotal(): number {
    return [...this.requests.values()].reduce((a, b) => a + b, 0);
  }

  private serve(server: Server, url: string, res: import("node:http").ServerResponse, dripMs: number): void {
    const port = (server.address() as AddressInfo).port;
    const name = url.slice(url.lastIndexOf("/") + 1);
    this.requests.set(port, (this.requests.get(port) ?? 0) + 1);
    const now = (this.active.get(port) ?? 0) + 1;
    this.active.set(port, now);
    this.maxActive.set(port, Math.max(this.maxActive.get(port) ?? 0, now));
    this.maxTotal = Math.max(this.maxTotal, ++this.total);
    res.on("close", () => {
      this.active.set(port, this.active.get(port)! - 1);
      this.total--;
    });
    const data = body(name);
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": data.length });
    const parts = 4;
    const step = data.length / parts;
    let i = 0;
    const next = () => {
      if (res.destroyed) return;
      if (i === 1 && this.holding) return void this.held.push(next);
      res.write(data.subarray(i * step, (i + 1) * step));
      if (++i < parts) setTimeout(next, dripMs / parts);
      else res.end();
    };
    next();
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
  }
}



const cleanups: (() => PromiseLike<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(hosts: number, dripMs: number) {
  const dir = await mkdtemp(join(tmpdir(), "drover-download-e2e-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const servers = await CountingHosts.start(hosts, dripMs);
  cleanups.push(() => servers.close());
  const t = await startTestCoordinator({ reaperIntervalMs: 200 });
  cleanups.push(() => t[Symbol.asyncDispose]());
  const as = async (user: string): Promise<Record<string, string>> => {
    const { token } = await t.admin.tokens.create.mutate({ name: user, role: "submitter", user });
    return { DROVER_URL: t.coordinator.url, DROVER_TOKEN: token };
  };
  const admin = { DROVER_URL: t.coordinator.url, DROVER_TOKEN: ADMIN_TOKEN };
  const workers: ChildProcess[] = [];
  cleanups.push(async () => {
    for (const w of workers) w.kill("SIGKILL");
  });
  const startWorkers = async (count: number, concurrency: number) => {
    const { token } = await t.admin.tokens.create.mutate({ name: "workers", role: "worker" });
    for (let i = 0; i < count; i++) {
      workers.push(
        spawn(process.execPath, [BIN, "worker", "--coordinator", t.coordinator.url, "--token", token, "--name", `w${i}`, "--types", "download.url", "--concurrency", String(concurrency), "--log-level", "warn"], {
          stdio: ["ignore", "ignore", "inherit"],
        }),
      );
    }
  };
  return { dir, servers, t, as, admin, startWorkers, out: pathToFileURL(join(dir, "out")).href + "/" };
}

const countsOf = async (t: TestCoordinator) => (await t.admin.queues.stats.query({ queue: "downloads" })).counts;

describe("drover download end to end: CLI, coordinator and 8 worker processes against loopback hosts", () => {
  it("never exceeds the queue's cap or the per-host cap (counted by the servers), and every file arrives whole", async () => {
    const { dir, servers, t, as, admin, startWorkers, out } = await setup(3, 300);
    expect((await cli(["download", "concurrency", "5", "--per-host", "2"], admin)).out).toContain("at most 5 at once, 2 per host");
    const alice = await as("alice");
    const names: string[] = [];
    const lines: string[] = [];
    for (let h = 0; h < 3; h++) {
      for (let i = 0; i < 12; i++) {
        names.push(`h${h}-${i}.bin`);
        lines.push(`http://127.0.0.1:${servers.port(h)}/files/h${h}-${i}.bin`);
      }
    }
    await writeFile(join(dir, "urls.txt"), `# 36 files on 3 hosts\n${lines.join("\n")}\n`);
    const added = await cli(["download", "add", "--file", join(dir, "urls.txt"), "--dest", out], alice);
    expect(added, added.out).toMatchObject({ code: 0 });
    expect(added.out).toContain("36 downloads queued");

    await startWorkers(8, 3);
    await until("every download done", async () => (await countsOf(t)).succeeded === 36);

    for (let h = 0; h < 3; h++) expect(servers.maxActive.get(servers.port(h)), `host ${h}`).toBe(2);
    expect(servers.maxTotal).toBe(5);
    expect(servers.requestsTotal()).toBe(36);
    expect((await readdir(join(dir, "out"))).sort()).toEqual([...names].sort());
    for (const name of names) expect((await readFile(join(dir, "out", name))).equals(body(name)), name).toBe(true);

    const stats = JSON.parse((await cli(["download", "stats", "--json"], alice)).out) as { user: string; windows: { m60: { succeeded: number; bytes: number; http: Record<string, number> } } };
    expect(stats.user).toBe("alice");
    expect(stats.windows.m60).toMatchObject({ succeeded: 36, bytes: 36 * SIZE, http: { "200": 36 } });
    const { jobs } = await t.admin.jobs.list.query({ queue: "downloads", limit: 1 });
    const status = await cli(["download", "status", String(jobs[0]!.id)], alice);
    expect(status.out).toMatch(/succeeded/);
    expect(status.out).toContain(String(SIZE));
  });

  it("pause lets running downloads finish and starts none; a timed pause ends by itself; clear cancels only the caller's queued jobs", async () => {
    const { dir, servers, t, as, admin, startWorkers, out } = await setup(1, 200);
    servers.holding = true;
    const alice = await as("alice");
    const bob = await as("bob");
    const url = (i: number) => `http://127.0.0.1:${servers.port(0)}/files/p${i}.bin`;
    await writeFile(join(dir, "first.csv"), `url,dest\n${[0, 1, 2, 3, 4, 5].map((i) => `${url(i)},${out}`).join("\n")}\n`);
    expect((await cli(["download", "add", "--file", join(dir, "first.csv")], alice)).out).toContain("6 downloads queued");
    await startWorkers(1, 2);

    await until("two downloads running", async () => servers.total === 2);
    expect((await cli(["download", "pause"], admin)).out).toContain("paused until resumed");
    servers.release();
    await until("the running two to finish", async () => (await countsOf(t)).succeeded === 2);
    // Paused: nothing new starts, however long we wait.
    await sleep(1000);
    expect(servers.requestsTotal()).toBe(2);
    expect(await countsOf(t)).toMatchObject({ queued: 4, leased: 0, succeeded: 2 });

    expect((await cli(["download", "pause", "1"], admin)).out).toMatch(/paused until \d{4}-/);
    await until("the timed pause to end and the rest to finish", async () => (await countsOf(t)).succeeded === 6);

    // Queued while paused: clear by Bob touches none of Alice's; Alice's clear takes hers.
    await cli(["download", "pause"], admin);
    for (const i of [6, 7, 8]) expect((await cli(["download", "add", url(i), out], alice)).code).toBe(0);
    const bobs = await cli(["download", "add", url(9), out], bob);
    const bobJob = Number(/job (\d+)/.exec(bobs.out)![1]);
    expect((await cli(["download", "clear"], bob)).out).toContain("cancelled 1 queued downloads");
    expect((await cli(["download", "clear"], alice)).out).toContain("cancelled 3 queued downloads");
    expect((await t.admin.jobs.get.query({ id: bobJob })).status).toBe("cancelled");
    // Bob cannot see Alice's jobs.
    const { jobs } = await t.admin.jobs.list.query({ queue: "downloads", limit: 1, status: "succeeded" });
    const peek = await cli(["download", "status", String(jobs[0]!.id)], bob);
    expect(peek.code).toBe(1);
    expect(peek.out).toContain("NOT_FOUND");
    expect(servers.requestsTotal()).toBe(6);
  });
});
