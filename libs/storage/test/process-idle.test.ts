import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CAN_WATCH_IDLE, groupIoBytes, watchIdle } from "../src/backends/process-idle.ts";
import { runProcess } from "../src/backends/rsync-process.ts";

// Real child processes: one that stalls, one that keeps writing slowly. (Linux only, like the watch.)
describe.runIf(CAN_WATCH_IDLE)("idle watch of a process group", () => {
  it("stops a run that moves no data, as Unavailable, and kills its whole group", async () => {
    const started = performance.now();
    // sh starts a grandchild in the same process group; both must go.
    const run = runProcess("sh", ["-c", "sleep 30 & sleep 30; wait"], { env: process.env, what: "stalling run", idleTimeoutMs: 600 });
    await expect(run).rejects.toMatchObject({ kind: "Unavailable", retryable: true, message: expect.stringContaining("stalling run: no data moved") });
    expect(performance.now() - started).toBeLessThan(25_000); // not the 30 s the sleeps would take
  });

  it("lets a slow run that keeps moving data finish", async () => {
    const result = await runProcess("sh", ["-c", "for i in 1 2 3 4 5 6 7 8 9 10; do echo tick; sleep 0.2; done"], { env: process.env, what: "slow run", idleTimeoutMs: 1000 });
    expect(result.code).toBe(0);
    expect(result.lines).toHaveLength(10);
  });

  it("counts the bytes the group's processes moved, and none once they are gone", async () => {
    const child = spawn("python3", ["-c", "import sys, time; sys.stdout.buffer.write(b'x' * 100000); sys.stdout.flush(); time.sleep(30)"], { detached: true, stdio: ["ignore", "ignore", "ignore"] });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    let bytes: number | undefined;
    for (let i = 0; i < 100 && !((bytes ?? 0) >= 100_000); i++) {
      await new Promise((r) => setTimeout(r, 50));
      bytes = groupIoBytes(child.pid!);
    }
    expect(bytes).toBeGreaterThanOrEqual(100_000);
    process.kill(-child.pid!, "SIGKILL");
    await exited;
    expect(groupIoBytes(child.pid!)).toBeUndefined();
  });

  it("calls back once, after the quiet period, and not while bytes move", async () => {
    let bytes = 0;
    let calls = 0;
    const stop = watchIdle(1, 300, () => calls++, () => bytes);
    const mover = setInterval(() => (bytes += 1), 60);
    await new Promise((r) => setTimeout(r, 900));
    expect(calls).toBe(0);
    clearInterval(mover);
    await new Promise((r) => setTimeout(r, 900));
    expect(calls).toBe(1);
    stop();
  });
});
