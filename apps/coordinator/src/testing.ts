// Test support shared by the coordinator's and the worker's tests (import "@drover/coordinator/testing").
// It starts real coordinators on loopback over real SQLite files; nothing is mocked.
import { createDroverClient, type DroverClient } from "@drover/protocol";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCoordinatorConfig, startCoordinator, type CoordinatorConfigInput, type RunningCoordinator } from "./index.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

export interface TestCoordinator extends AsyncDisposable {
  coordinator: RunningCoordinator;
  dir: string;
  admin: DroverClient;
  client(token?: string): DroverClient;
  /** Registers a worker under a fresh worker-role token. */
  worker(types?: string[], name?: string): Promise<{ client: DroverClient; workerId: string; token: string }>;
}

/** A real coordinator on 127.0.0.1:0 over a real SQLite file in a temp dir. */
export async function startTestCoordinator(overrides: CoordinatorConfigInput = {}, keepDir?: string): Promise<TestCoordinator> {
  const dir = keepDir ?? mkdtempSync(join(tmpdir(), "drover-test-"));
  const config = parseCoordinatorConfig({ port: 0, dataDir: dir, adminToken: ADMIN_TOKEN, logLevel: "warn", retryBaseMs: 50, reaperIntervalMs: 50, ...overrides }, {});
  const coordinator = await startCoordinator(config);
  const client = (token?: string) => createDroverClient({ url: coordinator.url, token });
  const admin = client(ADMIN_TOKEN);
  return {
    coordinator,
    dir,
    admin,
    client,
    async worker(types = ["noop"], name = "test-worker") {
      const { token } = await admin.tokens.create.mutate({ name: `worker-${Math.random().toString(36).slice(2)}`, role: "worker" });
      const c = client(token);
      const { workerId } = await c.workers.register.mutate({
        name,
        types,
        concurrency: 1,
        version: "test",
        host: { hostname: "test", platform: "linux", arch: "x64", cpus: 1, memoryBytes: 1, pid: process.pid, nodeVersion: process.version },
      });
      return { client: c, workerId, token };
    },
    async [Symbol.asyncDispose]() {
      await coordinator.close();
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { openEngineProbe, type EngineProbe } from "./engine-probe.ts";
