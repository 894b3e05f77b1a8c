// download.url against a real loopback server that misbehaves on purpose and a real local
// directory as the destination. Nothing is mocked; nothing leaves 127.0.0.1. Every failure
// case also checks that the destination holds nothing: no object, no temp file.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { JobContext } from "../src/define.ts";
import { offlineCoordinator } from "../src/offline.ts";
import { downloadUrlJob } from "../src/download/download.ts";
import { downloadUrlPayload, type DownloadUrlPayload } from "../src/download/download.spec.ts";
import { NonRetryableError } from "../src/errors.ts";
import { builtinJobTypes } from "../src/builtin/index.ts";
import { builtinSpecs } from "../src/specs.ts";
import { drip, failFirst, MisbehavingServer, redirect, serveBytes, silent } from "./misbehaving-server.ts";

const root = mkdtempSync(join(tmpdir(), "drover-download-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const big = randomBytes(8 * MiB);
const small = Buffer.from("hello, download.url\n".repeat(100));
/**
 * For cases where the body fails as it ends. Larger than the local backend's write buffer, so
 * the failure comes after the temp file is open: with a tiny body the stream can fail before
 * the file's open() returns, and the local backend then leaves its temp file behind (a
 * libs/storage race, reported separately; it is not this job's to clean up).
 */
const medium = randomBytes(512 * 1024);
const sha = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

let dirs = 0;
/** A fresh destination folder (as a storage URL ending in "/") inside its own parent. */
function freshDest(): { dir: string; dest: string; parent: string } {
  const parent = join(root, `case-${++dirs}`);
  const dir = join(parent, "dest");
  return { parent, dir, dest: `${dir}/` };
}

/** Every file under `dir`, hidden ones (temp files) included; [] when it does not exist. */
function listAll(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
      .sort();
  } catch {
    return [];
  }
}

class TestContext implements JobContext<DownloadUrlPayload> {
  readonly jobId = 1;
  readonly attempt = 1;
  readonly leaseId = "test-lease";
  readonly coordinator = offlineCoordinator();
  readonly maxAttempts = 3;
  readonly workDir = root;
  readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  readonly logs: string[] = [];
  readonly counts: Record<string, number> = {};
  readonly progresses: number[] = [];
  constructor(readonly payload: DownloadUrlPayload) {}
  progress(fraction: number): void {
    this.progresses.push(fraction);
  }
  log(line: string): void {
    this.logs.push(line);
  }
  count(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }
  spawn(): void {
    throw new Error("download.url spawns nothing");
  }
}

/** A context for this payload (schema defaults applied). */
function context(payload: Record<string, unknown>): TestContext {
  return new TestContext(downloadUrlPayload.parse(payload));
}

async function failure(ctx: TestContext): Promise<Error & { code?: string }> {
  try {
    await downloadUrlJob.run(ctx);
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error & { code?: string };
  }
  throw new Error("the download succeeded");
}

describe("download.url", () => {
  it("is registered as a built-in spec and runner, grouped by host", () => {
    expect(builtinSpecs.map((s) => s.name)).toContain("download.url");
    expect(builtinJobTypes.map((t) => t.name)).toContain("download.url");
    const payload = downloadUrlPayload.parse({ url: "https://Example.COM:8443/a", dest: "/tmp/x/" });
    expect(downloadUrlJob.groupKey?.(payload)).toBe("example.com:8443");
    expect(downloadUrlJob.groupKey?.(downloadUrlPayload.parse({ url: "https://example.com:443/a", dest: "/tmp/x/" }))).toBe("example.com");
  });

  it("downloads a plain 200 into a folder, named from the URL, with counts and progress", async () => {
    await using server = await MisbehavingServer.start();
    server.route("/files/report%20v2.txt", serveBytes(small, { contentType: "text/plain" }));
    const { dir, dest } = freshDest();
    const ctx = context({ url: server.url("/files/report%20v2.txt"), dest });
    const result = await downloadUrlJob.run(ctx);
    expect(result).toMatchObject({
      url: server.url("/files/report%20v2.txt"),
      key: "report v2.txt",
      dest: `${dir}/report v2.txt`,
      bytes: small.length,
      sha256: sha(small),
      status: 200,
      contentType: "text/plain",
      retries: 0,
      resumed: 0,
    });
    expect(readFileSync(join(dir, "report v2.txt"))).toEqual(small);
    expect(listAll(dir)).toEqual(["report v2.txt"]);
    expect(ctx.counts).toEqual({ bytes: small.length, "http.200": 1 });
    expect(ctx.progresses.at(-1)).toBe(1);
    expect(server.requests[0]?.headers["user-agent"]).toMatch(/^Drover\//);
  });

  it("writes to a full object URL (file://) and overwrites what is there", async () => {
    await using server = await MisbehavingServer.start();
    server.route("/v1", serveBytes(Buffer.from("first")));
    server.route("/v2", serveBytes(Buffer.from("second")));
    const { dir } = freshDest();
    const dest = `file://${dir}/fixed-name.bin`;
    await downloadUrlJob.run(context({ url: server.url("/v1"), dest }));
    const result = await downloadUrlJob.run(context({ url: server.url("/v2"), dest }));
    expect(result).toMatchObject({ key: "fixed-name.bin", dest });
    expect(readFileSync(join(dir, "fixed-name.bin"), "utf8")).toBe("second");
    expect(listAll(dir)).toEqual(["fixed-name.bin"]);
  });

  it.each([
    [500, {}],
    [503, { "retry-after": "0" }],
    [429, { "retry-after": "0" }],
    [408, {}],
  ])("retries an HTTP %i, then succeeds", async (status, headers) => {
    await using server = await MisbehavingServer.start();
    server.route("/flaky.bin", failFirst(1, status, serveBytes(small), headers));
    const { dir, dest } = freshDest();
    const ctx = context({ url: server.url("/flaky.bin"), dest });
    const result = await downloadUrlJob.run(ctx);
    expect(result).toMatchObject({ bytes: small.length, sha256: sha(small), retries: 1, status: 200 });
    expect(server.seen("/flaky.bin")).toHaveLength(2);
    expect(ctx.logs.some((l) => l.includes(`HTTP ${status}`) && l.includes("retry 1/4"))).toBe(true);
    expect(ctx.counts["http.200"]).toBe(1);
    expect(listAll(dir)).toEqual(["flaky.bin"]);
  });

  it("gives up retryably when the 5xx does not stop, leaving nothing", async () => {
    await using server = await MisbehavingServer.start();
    server.route("/down", failFirst(100, 503, serveBytes(small)));
    const { dir, dest } = freshDest();
    const ctx = context({ url: server.url("/down"), dest, retries: 2 });
    const error = await failure(ctx);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect(error.code).toBe("HTTP_503");
    expect(error.message).toMatch(/gave up after 2 retries/);
    expect(server.seen("/down")).toHaveLength(3);
    expect(ctx.counts).toEqual({ "http.503": 1 });
    expect(listAll(dir)).toEqual([]);
  });

  it.each([
    ["an ETag", { etag: '"v1-abc"' }, '"v1-abc"'],
    ["a Last-Modified date", { lastModified: "Tue, 24 Nov 2026 10:00:00 GMT" }, "Tue, 24 Nov 2026 10:00:00 GMT"],
  ])("resumes a reset 8 MiB transfer with Range + If-Range (%s)", async (_what, validator, ifRange) => {
    await using server = await MisbehavingServer.start();
    server.route("/big.bin", serveBytes(big, { ...validator, cut: (n) => (n === 1 ? { after: 4 * MiB, how: "reset" } : undefined) }));
    const { dir, dest } = freshDest();
    const ctx = context({ url: server.url("/big.bin"), dest });
    const result = await downloadUrlJob.run(ctx);
    expect(result).toMatchObject({ bytes: big.length, sha256: sha(big), resumed: 1, retries: 1, status: 200 });
    const [first, second] = server.seen("/big.bin");
    expect(first?.headers.range).toBeUndefined();
    const offset = Number(/^bytes=(\d+)-$/.exec(second?.headers.range ?? "")?.[1]);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(4 * MiB);
    expect(second?.headers["if-range"]).toBe(ifRange);
    expect(sha(readFileSync(join(dir, "big.bin")))).toBe(sha(big));
    expect(listAll(dir)).toEqual(["big.bin"]);
    expect(ctx.counts.bytes).toBe(big.length);
  });

  it("starts over from byte 0 when the server answers the Range request with a 200", async () => {
    await using server = await MisbehavingServer.start();
    server.route("/big.bin", serveBytes(big, { etag: '"e1"', honourRange: false, cut: (n) => (n === 1 ? { after: 4 * MiB, how: "reset" } : undefined) }));
    const { dir, dest } = freshDest();
    const ctx = context({ url: server.url("/big.bin"), dest });
    const result = await downloadUrlJob.run(ctx);
    expect(result).toMatchObject({ bytes: big.length, sha256: sha(big), resumed: 0, retries: 1 });
    const seen = server.seen("/big.bin");
    // The 200 to the Range request is used as the new start: no third request.
    expect(seen).toHaveLength(2);
    expect(seen[1]?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(ctx.logs.some((l) => l.includes("starting over"))).toBe(true);
    expect(sha(readFileSync(join(dir, "big.bin")))).toBe(sha(big));
    expect(listAll(dir)).toEqual(["big.bin"]);
  });

  it("starts over when the server offers no ranges", async () => {
    await using server = await MisbehavingServer.start();
    server.route("/big.bin", serveBytes(big, { cut: (n) => (n === 1 ? { after: 2 * MiB, how: "reset" } : undefined) }));
    const { dir, dest } = freshDest();
    const result = await downloadUrlJob.run(context({ url: server.url("/big.bin"), dest }));
    expect(result).toMatchObject({ bytes: big.length, sha256: sha(big), resumed: 0, retries: 1 });
    expect(server.seen("/big.bin").map((r) => r.headers.range)).toEqual([undefined, undefined]);
    expect(listAll(dir)).toEqual(["big.bin"]);
  });

  it("treats a Content-Length that lies (body shorter, connection closed) as a broken transfer and resumes", async () => {
    await using server = await MisbehavingServer.start();
    server.route("/short.bin", serveBytes(big, { etag: '"s"', cut: (n) => (n === 1 ? { after: 1 * MiB, how: "close" } : undefined) }));
    const { dir, dest } = freshDest();
    const result = await downloadUrlJob.run(context({ url: server.url("/short.bin"), dest }));
    expect(result).toMatchObject({ bytes: big.length, sha256: sha(big), resumed: 1 });
    expect(server.seen("/short.bin")[1]?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(listAll(dir)).toEqual(["short.bin"]);
  });

  it("never writes a short file when the length always lies", async () => {
    await using server = await MisbehavingServer.start();
    server.route("/liar.bin", serveBytes(medium, { cut: () => ({ after: medium.length / 2, how: "close" }) }));
    const { dir, dest } = freshDest();
    const error = await failure(context({ url: server.url("/liar.bin"), dest, retries: 2 }));
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect(error.code).toMatch(/^(NETWORK|TRUNCATED)$/);
    // At least 1 + retries: a try that gets further than any before it earns its budget back
    // (how far each gets depends on what the client had read when the close arrived).
    expect(server.seen("/liar.bin").length).toBeGreaterThanOrEqual(3);
    expect(listAll(dir)).toEqual([]);
  });

  it("fails retryably with IDLE_TIMEOUT on a drip slower than idleTimeoutMs, after its retries", async () => {
    await using server = await MisbehavingServer.start();
    server.route("/drip", drip(1000, 60_000));
    const { dir, dest } = freshDest();
    const ctx = context({ url: server.url("/drip"), dest, idleTimeoutMs: 100, retries: 1 });
    const error = await failure(ctx);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect(error.code).toBe("IDLE_TIMEOUT");
    expect(server.seen("/drip")).toHaveLength(2);
    expect(ctx.logs.filter((l) => l.includes("retry"))).toHaveLength(1);
    expect(listAll(dir)).toEqual([]);
  });

  it("times out waiting for headers (IDLE_TIMEOUT) and on the total deadline (TOTAL_TIMEOUT)", async () => {
    await using server = await MisbehavingServer.start();
    server.route("/silent", silent());
    server.route("/drip", drip(1000, 60_000));
    const { dir, dest } = freshDest();
    const idle = await failure(context({ url: server.url("/silent"), dest, idleTimeoutMs: 100, retries: 0 }));
    expect(idle.code).toBe("IDLE_TIMEOUT");
    expect(idle.message).toMatch(/no response headers/);
    const total = await failure(context({ url: server.url("/drip"), dest, totalTimeoutMs: 200 }));
    expect(total).not.toBeInstanceOf(NonRetryableError);
    expect(total.code).toBe("TOTAL_TIMEOUT");
    expect(listAll(dir)).toEqual([]);
  });

  it("times out a connection whose TLS handshake never completes (CONNECT_TIMEOUT)", async () => {
    // A TCP server that accepts and says nothing: the https client never gets its handshake.
    const mute = createNetServer(() => {});
    await new Promise<void>((ok) => mute.listen(0, "127.0.0.1", ok));
    const sockets = new Set<Socket>();
    mute.on("connection", (s) => sockets.add(s));
    try {
      const { port } = mute.address() as AddressInfo;
      const { dir, dest } = freshDest();
      const error = await failure(context({ url: `https://127.0.0.1:${port}/x.bin`, dest, connectTimeoutMs: 100, retries: 1 }));
      expect(error).not.toBeInstanceOf(NonRetryableError);
      expect(error.code).toBe("CONNECT_TIMEOUT");
      expect(sockets.size).toBe(2);
      expect(listAll(dir)).toEqual([]);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((ok) => mute.close(ok));
    }
  });

  it("fails for good when https meets a server that does not speak TLS", async () => {
    await using server = await MisbehavingServer.start();
    const { dir, dest } = freshDest();
    const error = await failure(context({ url: server.base.replace("http:", "https:") + "/x.bin", dest }));
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.code).toBe("TLS_FAILED");
    expect(listAll(dir)).toEqual([]);
  });

  it("retries a refused connection, then fails retryably", async () => {
    const server = await MisbehavingServer.start();
    const url = server.url("/gone");
    await server[Symbol.asyncDispose]();
    const { dir, dest } = freshDest();
    const error = await failure(context({ url, dest, retries: 1 }));
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect(error.code).toBe("NETWORK");
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(listAll(dir)).toEqual([]);
  });

  it.each([404, 403, 410])("fails for good on an HTTP %i after exactly one request", async (status) => {
    await using server = await MisbehavingServer.start();
    server.route("/nope", failFirst(100, status, serveBytes(small)));
    const { dir, dest } = freshDest();
    const ctx = context({ url: server.url("/nope"), dest });
    const error = await failure(ctx);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.code).toBe(`HTTP_${status}`);
    expect(server.requests).toHaveLength(1);
    expect(ctx.counts).toEqual({ [`http.${status}`]: 1 });
    expect(listAll(dir)).toEqual([]);
  });

  describe("redirects", () => {
    it("follows a chain and reports the final URL; the name comes from the final URL", async () => {
      await using server = await MisbehavingServer.start();
      server.route("/start", redirect(301, "/hop?x=1"));
      server.route("/hop?x=1", redirect(307, `${server.base}/files/final.tar.gz`));
      server.route("/files/final.tar.gz", serveBytes(small));
      const { dir, dest } = freshDest();
      const ctx = context({ url: server.url("/start"), dest });
      const result = await downloadUrlJob.run(ctx);
      expect(result).toMatchObject({ url: server.url("/files/final.tar.gz"), key: "final.tar.gz", status: 200 });
      expect(ctx.counts).toEqual({ bytes: small.length, "http.200": 1 });
      expect(listAll(dir)).toEqual(["final.tar.gz"]);
    });

    it("refuses a loop, naming it", async () => {
      await using server = await MisbehavingServer.start();
      server.route("/a", redirect(302, "/b"));
      server.route("/b", redirect(302, "/a"));
      const { dir, dest } = freshDest();
      const error = await failure(context({ url: server.url("/a"), dest }));
      expect(error).toBeInstanceOf(NonRetryableError);
      expect(error.code).toBe("REDIRECT_LOOP");
      expect(error.message).toMatch(/redirect loop: .*\/a -> .*\/b -> .*\/a/);
      expect(server.requests).toHaveLength(2);
      expect(listAll(dir)).toEqual([]);
    });

    it("stops after maxRedirects", async () => {
      await using server = await MisbehavingServer.start();
      for (let i = 0; i < 10; i++) server.route(`/r${i}`, redirect(302, `/r${i + 1}`));
      const { dir, dest } = freshDest();
      const error = await failure(context({ url: server.url("/r0"), dest, maxRedirects: 3 }));
      expect(error).toBeInstanceOf(NonRetryableError);
      expect(error.code).toBe("TOO_MANY_REDIRECTS");
      expect(error.message).toMatch(/more than 3 redirects/);
      expect(server.requests).toHaveLength(4);
      expect(listAll(dir)).toEqual([]);
    });

    it.each(["ftp://127.0.0.1/file.bin", "file:///etc/passwd", "data:text/plain,hi"])("refuses a redirect to %s", async (location) => {
      await using server = await MisbehavingServer.start();
      server.route("/evil", redirect(302, location));
      const { dir, dest } = freshDest();
      const error = await failure(context({ url: server.url("/evil"), dest }));
      expect(error).toBeInstanceOf(NonRetryableError);
      expect(error.code).toBe("BAD_REDIRECT");
      expect(error.message).toMatch(/only http: and https: redirects are followed/);
      expect(listAll(dir)).toEqual([]);
    });

    it("drops credentials when a redirect changes origin", async () => {
      await using a = await MisbehavingServer.start();
      await using b = await MisbehavingServer.start();
      a.route("/private", redirect(302, b.url("/cdn.bin")));
      b.route("/cdn.bin", serveBytes(small));
      const { dest } = freshDest();
      await downloadUrlJob.run(context({ url: a.url("/private"), dest, headers: { Authorization: "Bearer secret", "X-Trace": "t1" } }));
      expect(a.requests[0]?.headers.authorization).toBe("Bearer secret");
      expect(b.requests[0]?.headers.authorization).toBeUndefined();
      expect(b.requests[0]?.headers["x-trace"]).toBe("t1");
    });
  });

  describe("maxBytes, size and sha256", () => {
    it.each([true, false])("refuses a body over maxBytes (Content-Length sent: %s), writing nothing", async (contentLength) => {
      await using server = await MisbehavingServer.start();
      server.route("/huge.bin", serveBytes(big, { contentLength }));
      const { dir, dest } = freshDest();
      const error = await failure(context({ url: server.url("/huge.bin"), dest, maxBytes: MiB }));
      expect(error).toBeInstanceOf(NonRetryableError);
      expect(error.code).toBe("TOO_LARGE");
      expect(server.requests).toHaveLength(1);
      expect(listAll(dir)).toEqual([]);
    });

    it("accepts a body of exactly maxBytes", async () => {
      await using server = await MisbehavingServer.start();
      server.route("/exact.bin", serveBytes(small, { contentLength: false }));
      const { dir, dest } = freshDest();
      await downloadUrlJob.run(context({ url: server.url("/exact.bin"), dest, maxBytes: small.length }));
      expect(listAll(dir)).toEqual(["exact.bin"]);
    });

    it.each([
      ["a wrong size (declared)", { size: medium.length + 1 }, true, "SIZE_MISMATCH"],
      ["a wrong size (chunked)", { size: medium.length + 1 }, false, "SIZE_MISMATCH"],
      ["a smaller size (chunked)", { size: medium.length - 1 }, false, "SIZE_MISMATCH"],
      ["a wrong sha256", { sha256: "0".repeat(64) }, true, "SHA256_MISMATCH"],
    ])("fails for good on %s, writing nothing", async (_what, expected, contentLength, code) => {
      await using server = await MisbehavingServer.start();
      server.route("/f.bin", serveBytes(medium, { contentLength }));
      const { dir, dest } = freshDest();
      const error = await failure(context({ url: server.url("/f.bin"), dest, ...expected }));
      expect(error).toBeInstanceOf(NonRetryableError);
      expect(error.code).toBe(code);
      expect(listAll(dir)).toEqual([]);
    });

    it("succeeds when size and sha256 (any case) are right", async () => {
      await using server = await MisbehavingServer.start();
      server.route("/f.bin", serveBytes(small, { contentLength: false }));
      const { dir, dest } = freshDest();
      const result = await downloadUrlJob.run(context({ url: server.url("/f.bin"), dest, size: small.length, sha256: sha(small).toUpperCase() }));
      expect(result.sha256).toBe(sha(small));
      expect(listAll(dir)).toEqual(["f.bin"]);
    });
  });

  describe("file names", () => {
    it.each([
      ['attachment; filename="../../etc/passwd"', "passwd"],
      ['attachment; filename="a\\\\b.txt"', "b.txt"],
      ["attachment; filename=a\\b.txt", "b.txt"],
      ["attachment; filename*=UTF-8''%2E%2E%2Fx", "x"],
      ["attachment; filename*=UTF-8''%2E%2E", "from-url.bin"],
      ['attachment; filename=".."', "from-url.bin"],
      ["attachment; filename*=UTF-8''%E2%82%AC%20rates.txt; filename=\"fallback.txt\"", "€ rates.txt"],
      ['attachment; filename="fallback.txt"; filename*=utf-8\'en\'r%C3%A9sum%C3%A9.pdf', "résumé.pdf"],
      ['inline; filename="evil\tname.txt"', "evilname.txt"],
      ["attachment; filename*=UTF-8''evil%E2%80%AEtxt.exe%01", "eviltxt.exe"],
      ['attachment; filename="C:\\\\Windows\\\\system32\\\\drivers.sys"', "drivers.sys"],
      ['attachment; filename="what?.txt"', "what_.txt"],
    ])("Content-Disposition %j lands inside the folder as %j", async (disposition, expected) => {
      await using server = await MisbehavingServer.start();
      server.route("/from-url.bin", serveBytes(small, { contentDisposition: disposition }));
      const { parent, dir, dest } = freshDest();
      const result = await downloadUrlJob.run(context({ url: server.url("/from-url.bin"), dest }));
      expect(result.key).toBe(expected);
      expect(listAll(dir)).toEqual([expected]);
      expect(listAll(parent)).toEqual([join("dest", expected)]);
    });

    it("a URL path ending in an encoded traversal or in '/' still names a file inside the folder", async () => {
      await using server = await MisbehavingServer.start();
      server.route("/x/..%2F..%2Fetc%2Fpasswd", serveBytes(small));
      server.route("/dir/", serveBytes(small));
      const { parent, dir, dest } = freshDest();
      expect((await downloadUrlJob.run(context({ url: server.url("/x/..%2F..%2Fetc%2Fpasswd"), dest }))).key).toBe("passwd");
      expect((await downloadUrlJob.run(context({ url: server.url("/dir/"), dest }))).key).toBe("download");
      expect(listAll(dir)).toEqual(["download", "passwd"]);
      expect(listAll(parent)).toEqual([join("dest", "download"), join("dest", "passwd")]);
    });

    it("uniqueName adds ' (1)', ' (2)' instead of overwriting; without it the file is replaced", async () => {
      await using server = await MisbehavingServer.start();
      let version = 0;
      server.route("/report.pdf", (req, res, n) => serveBytes(Buffer.from(`version ${++version}`))(req, res, n));
      server.route("/data.tar.gz", serveBytes(small));
      const { dir, dest } = freshDest();
      const keys: string[] = [];
      for (let i = 0; i < 3; i++) keys.push((await downloadUrlJob.run(context({ url: server.url("/report.pdf"), dest, uniqueName: true }))).key);
      keys.push((await downloadUrlJob.run(context({ url: server.url("/data.tar.gz"), dest, uniqueName: true }))).key);
      keys.push((await downloadUrlJob.run(context({ url: server.url("/data.tar.gz"), dest, uniqueName: true }))).key);
      expect(keys).toEqual(["report.pdf", "report (1).pdf", "report (2).pdf", "data.tar.gz", "data (1).tar.gz"]);
      expect(readFileSync(join(dir, "report (2).pdf"), "utf8")).toBe("version 3");
      await downloadUrlJob.run(context({ url: server.url("/report.pdf"), dest }));
      expect(readFileSync(join(dir, "report.pdf"), "utf8")).toBe("version 4");
      expect(listAll(dir)).toEqual(["data (1).tar.gz", "data.tar.gz", "report (1).pdf", "report (2).pdf", "report.pdf"]);
    });
  });

  it("stops when the job's signal aborts mid-transfer, leaving nothing (not even the temp file)", async () => {
    await using server = await MisbehavingServer.start();
    // Half the file, then silence: only the abort ends this download.
    server.route("/stall.bin", (_req, res) => {
      res.writeHead(200, { "content-length": String(big.length) });
      res.write(big.subarray(0, big.length / 2));
    });
    const { dir, dest } = freshDest();
    const ctx = context({ url: server.url("/stall.bin"), dest });
    const run = downloadUrlJob.run(ctx);
    // Abort once the write has begun: its temp file is in the folder.
    while (!listAll(dir).some((f) => f.endsWith(".tmp"))) await new Promise((ok) => setTimeout(ok, 10));
    const reason = new Error("lease lost");
    ctx.controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(listAll(dir)).toEqual([]);
    expect(ctx.counts.bytes).toBeUndefined();
  });

  it("fails for good, before any request, on a dest that names no object or no storage", async () => {
    await using server = await MisbehavingServer.start();
    server.route("/f.bin", serveBytes(small));
    const noObject = await failure(context({ url: server.url("/f.bin"), dest: "s3://bucket" }));
    expect(noObject).toBeInstanceOf(NonRetryableError);
    expect(noObject.code).toBe("DEST_INVALID");
    const noStorage = await failure(context({ url: server.url("/f.bin"), dest: "nope://bucket/dir/" }));
    expect(noStorage).toBeInstanceOf(NonRetryableError);
    expect(noStorage.code).toBe("STORAGE_CONFIG_INVALID");
    expect(server.requests).toHaveLength(0);
  });

  describe("payload", () => {
    const fieldOf = (payload: Record<string, unknown>): string | undefined => {
      const parsed = downloadUrlPayload.safeParse(payload);
      expect(parsed.success).toBe(false);
      return parsed.error?.issues[0]?.path.join(".");
    };
    const ok = { url: "https://example.com/a.bin", dest: "/tmp/downloads/" };

    it("applies the defaults", () => {
      expect(downloadUrlPayload.parse(ok)).toEqual({ ...ok, maxRedirects: 5, connectTimeoutMs: 10_000, idleTimeoutMs: 30_000, totalTimeoutMs: 3_600_000, retries: 4 });
    });

    it.each([
      [{ url: "ftp://example.com/a.bin" }, "url", /http: or https:/],
      [{ url: "file:///etc/passwd" }, "url", /http: or https:/],
      [{ url: "not a url" }, "url", /absolute http/],
      [{ url: "https://user:pw@example.com/a" }, "url", /credentials/],
      [{ sha256: "abc" }, "sha256", /64 hex/],
      [{ sha256: "g".repeat(64) }, "sha256", /64 hex/],
      [{ size: -1 }, "size", /./],
      [{ size: 1.5 }, "size", /./],
      [{ maxBytes: -5 }, "maxBytes", /./],
      [{ retries: -1 }, "retries", /./],
      [{ headers: { "bad name": "x" } }, "headers.bad name", /token/],
      [{ headers: { Range: "bytes=0-" } }, "headers.Range", /set by the downloader/],
      [{ headers: { host: "evil" } }, "headers.host", /set by the downloader/],
      [{ headers: { "x-a": "1\r\nx-b: 2" } }, "headers.x-a", /CR, LF/],
      [{ headers: { "x-a": "snow \u2603" } }, "headers.x-a", /Latin-1/],
      [{ surprise: true }, "", /surprise/],
    ])("refuses %j, naming %j", (change, field, message) => {
      expect(fieldOf({ ...ok, ...change })).toBe(field);
      const parsed = downloadUrlPayload.safeParse({ ...ok, ...change });
      expect(parsed.error?.issues[0]?.message ?? "").toMatch(message);
      if (field === "") expect(JSON.stringify(parsed.error?.issues[0])).toMatch(message);
    });
  });
});
