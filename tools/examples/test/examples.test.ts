import { startTestCoordinator, ADMIN_TOKEN } from "@drover/coordinator/testing";
import { loadPlugin } from "@drover/jobs";
import { startWorker, WorkerConfigSchema } from "@drover/worker";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../../..");
const plugin = resolve(import.meta.dirname, "../src/hello-plugin.ts");

describe("README examples", () => {
  it("the plugin runs on a worker and the coordinator validates its payload", async () => {
    await using t = await startTestCoordinator({ plugins: [plugin] });
    const { token } = await t.admin.tokens.create.mutate({ name: "w", role: "worker" });
    const { worker } = await startWorker(WorkerConfigSchema.parse({ url: t.coordinator.url, token, plugins: [plugin], types: ["example.hello"], pollMs: 500 }), { logger: pino({ level: "silent" }) });
    try {
      const { id } = await t.admin.jobs.submit.mutate({ type: "example.hello", payload: { name: "Ada", times: 2 } });
      await expect(t.admin.jobs.submit.mutate({ type: "example.hello", payload: { name: "" } })).rejects.toThrow(/payload.name/);
      let job = await t.admin.jobs.get.query({ id });
      for (let i = 0; i < 100 && job.status !== "succeeded"; i++) {
        await new Promise((r) => setTimeout(r, 50));
        job = await t.admin.jobs.get.query({ id });
      }
      expect(job.result).toEqual({ greeting: "hello Ada, hello Ada" });
      expect((await loadPlugin(plugin))[0]!.name).toBe("example.hello");
    } finally {
      await worker.shutdown(0);
    }
  });

  it("the submit-and-wait script submits 1,000 jobs and sees them all succeed", async () => {
    await using t = await startTestCoordinator();
    const { token } = await t.admin.tokens.create.mutate({ name: "w", role: "worker" });
    const { worker } = await startWorker(WorkerConfigSchema.parse({ url: t.coordinator.url, token, concurrency: 16, pollMs: 500 }), { logger: pino({ level: "silent" }) });
    try {
      const script = spawn(process.execPath, ["--import", "tsx", resolve(import.meta.dirname, "../src/submit-and-wait.ts")], {
        cwd: root,
        env: { ...process.env, DROVER_URL: t.coordinator.url, DROVER_TOKEN: ADMIN_TOKEN },
      });
      let out = "";
      script.stdout.on("data", (c: Buffer) => (out += c.toString()));
      script.stderr.on("data", (c: Buffer) => (out += c.toString()));
      const code = await new Promise((r) => script.on("exit", r));
      expect(code, out).toBe(0);
      expect(out).toContain("submitted 1000 jobs");
      expect(out).toContain('outcome: {"succeeded":1000}');
    } finally {
      await worker.shutdown(0);
    }
  });
});
