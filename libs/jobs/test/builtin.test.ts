import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execJob, noopJob, NonRetryableError, offlineCoordinator, type JobContext } from "../src/index.ts";

const dir = mkdtempSync(join(tmpdir(), "drover-jobs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ctx<P>(payload: P, signal = new AbortController().signal): JobContext<P> {
  return { jobId: 1, attempt: 1, leaseId: "test-lease", coordinator: offlineCoordinator(), maxAttempts: 3, payload, signal, workDir: dir, progress: () => {}, log: () => {}, count: () => {}, spawn: () => {} };
}

describe("exec", () => {
  const parse = (p: unknown) => execJob.payload.parse(p);

  it("runs a command in the work dir with args and env; result has exit code and output tails", async () => {
    const result = await execJob.run(ctx(parse({ command: "sh", args: ["-c", 'echo "$GREETING from $(pwd)"; echo oops >&2'], env: { GREETING: "hello" } })));
    expect(result).toMatchObject({ exitCode: 0, signal: null, stdoutTail: `hello from ${dir}\n`, stderrTail: "oops\n" });
  });

  it("keeps only the tail of a long output", async () => {
    const result = await execJob.run(ctx(parse({ command: "sh", args: ["-c", "seq 1 100000"], tailBytes: 20 })));
    expect(result.stdoutTail.length).toBeLessThanOrEqual(20);
    expect(result.stdoutTail.endsWith("100000\n")).toBe(true);
  });

  it("fails (retryable) on a non-zero exit unless the code is allowed", async () => {
    await expect(execJob.run(ctx(parse({ command: "sh", args: ["-c", "echo bad >&2; exit 3"] })))).rejects.toThrow(/exited with code 3: bad/);
    const ok = await execJob.run(ctx(parse({ command: "sh", args: ["-c", "exit 3"], okExitCodes: [0, 3] })));
    expect(ok.exitCode).toBe(3);
  });

  it("fails for good when the command does not exist", async () => {
    await expect(execJob.run(ctx(parse({ command: "no-such-command-drover" })))).rejects.toBeInstanceOf(NonRetryableError);
  });

  it("kills the process when the job's signal aborts", async () => {
    const ac = new AbortController();
    const run = execJob.run(ctx(parse({ command: "sleep", args: ["30"] }), ac.signal));
    setTimeout(() => ac.abort(new Error("lease lost")), 100);
    await expect(run).rejects.toThrow();
  });

  it("refuses env names that are not variable names, naming the field", () => {
    const r = execJob.payload.safeParse({ command: "x", env: { "A-B": "1" } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues[0]?.path)).toBe('["env","A-B"]');
  });
});

describe("noop", () => {
  it("succeeds, or fails with the message asked for", async () => {
    expect(await noopJob.run(ctx(noopJob.payload.parse({})))).toEqual({ ok: true });
    await expect(noopJob.run(ctx(noopJob.payload.parse({ failWith: "asked" })))).rejects.toThrow("asked");
  });
});
