import { describe, expect, it } from "vitest";
import { startTestCoordinator } from "./helpers.ts";

describe("workers", () => {
  it("lists a registered worker as active with its host info, and as lost once unseen for longer than a lease", async () => {
    // defaultLeaseSeconds is also how long a silent worker stays `active`.
    await using t = await startTestCoordinator({ defaultLeaseSeconds: 1 });
    const w = await t.worker(["noop"]);
    let [info] = await t.admin.workers.list.query();
    expect(info).toMatchObject({ id: w.workerId, name: "test-worker", status: "active", types: ["noop"], concurrency: 1, activeLeases: 0 });
    expect(info!.host.hostname).toBe("test");
    await t.admin.jobs.submit.mutate({ type: "noop" });
    await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    expect((await t.admin.workers.list.query())[0]!.activeLeases).toBe(1);
    await new Promise((r) => setTimeout(r, 1500));
    [info] = await t.admin.workers.list.query();
    expect(info!.status).toBe("lost");
    // Any call from the worker brings it back.
    await w.client.leases.heartbeat.mutate({ workerId: w.workerId, leases: [] });
    expect((await t.admin.workers.list.query())[0]!.status).toBe("active");
  });

  it("re-registering under the same id keeps the worker (a worker reconnecting after a coordinator restart)", async () => {
    await using t = await startTestCoordinator();
    const w = await t.worker(["noop"]);
    const again = await w.client.workers.register.mutate({
      workerId: w.workerId,
      name: "renamed",
      types: ["noop"],
      concurrency: 4,
      version: "test",
      host: { hostname: "test", platform: "linux", arch: "x64", cpus: 1, memoryBytes: 1, pid: 1, nodeVersion: "v20" },
    });
    expect(again.workerId).toBe(w.workerId);
    const list = await t.admin.workers.list.query();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: "renamed", concurrency: 4 });
  });
});

describe("the env admin token", () => {
  it("stops working once DROVER_ADMIN_TOKEN is no longer set", async () => {
    const first = await startTestCoordinator();
    const { dir } = first;
    const port = first.coordinator.port;
    expect((await first.admin.system.status.query()).you.role).toBe("admin");
    await first.coordinator.close();
    await using second = await startTestCoordinator({ port, adminToken: undefined }, dir);
    await expect(second.admin.system.status.query()).rejects.toMatchObject({ data: { droverCode: "UNAUTHENTICATED" } });
    expect(second.coordinator.bootstrapAdminToken).toMatch(/^drv_/);
  });
});
