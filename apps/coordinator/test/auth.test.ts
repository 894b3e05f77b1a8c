import Database from "better-sqlite3";
import { PERMISSIONS, ROLES, type Role } from "@drover/protocol";
import { createHash } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startTestCoordinator } from "./helpers.ts";
import { PERMISSION_OF, PROCEDURES, VALID_INPUT, errorData, rawCall } from "./procedures.ts";
import { failureOf, ref, submitAll } from "./support.ts";

describe("auth", () => {
  it("the permission table covers every procedure of the router", () => {
    expect(PROCEDURES.map((p) => p.path).sort()).toEqual(Object.keys(PERMISSION_OF).sort());
  });

  it("without a token every procedure but system.health answers UNAUTHENTICATED (401)", async () => {
    await using t = await startTestCoordinator();
    for (const { path } of PROCEDURES) {
      const answer = await rawCall(t.coordinator.url, path, { body: JSON.stringify(VALID_INPUT[path] ?? {}) });
      if (path === "system.health") {
        expect(answer.status, path).toBe(200);
        continue;
      }
      expect(answer.status, path).toBe(401);
      expect(errorData(answer), path).toMatchObject({ droverCode: "UNAUTHENTICATED", httpStatus: 401 });
    }
    expect((await t.client().system.health.query()).ok).toBe(true);
    expect((await failureOf(t.client().jobs.list.query({}))).code).toBe("UNAUTHENTICATED");
  });

  it("a bad, malformed or unknown token is refused with 401", async () => {
    await using t = await startTestCoordinator();
    const url = t.coordinator.url;
    const body = JSON.stringify({});
    for (const authorization of [
      "Bearer not-a-real-token-at-all",
      `Bearer drv_0123456789abcdef_${"A".repeat(43)}`, // well-formed, never minted
      `Bearer ${ADMIN_TOKEN}x`,
      "Bearer short",
      `Basic ${Buffer.from("admin:admin").toString("base64")}`,
      ADMIN_TOKEN, // no scheme
    ]) {
      const answer = await rawCall(url, "jobs.list", { body, authorization });
      expect(answer.status, authorization).toBe(401);
      expect(errorData(answer)?.droverCode).toBe("UNAUTHENTICATED");
    }
    expect((await rawCall(url, "jobs.list", { body, token: ADMIN_TOKEN })).status).toBe(200);
  });

  it("revoking a token takes effect immediately, even for a token in active use", async () => {
    await using t = await startTestCoordinator();
    await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    const w = await t.worker();
    const [lease] = await w.client.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] });
    await w.client.leases.heartbeat.mutate({ workerId: w.workerId, leases: [ref(lease!)] }); // warm any auth cache
    const tokenId = w.token.split("_")[1]!;
    const revoked = await t.admin.tokens.revoke.mutate({ id: tokenId });
    expect(revoked.revokedAt).not.toBeNull();

    expect(await failureOf(w.client.leases.heartbeat.mutate({ workerId: w.workerId, leases: [ref(lease!)] }))).toMatchObject({ code: "UNAUTHENTICATED", httpStatus: 401 });
    expect(await failureOf(w.client.jobs.list.query({}))).toMatchObject({ code: "UNAUTHENTICATED", httpStatus: 401 });
    expect((await t.admin.tokens.list.query()).find((k) => k.id === tokenId)?.revokedAt).toBe(revoked.revokedAt);
    // Revoking twice keeps the first revocation time.
    expect((await t.admin.tokens.revoke.mutate({ id: tokenId })).revokedAt).toBe(revoked.revokedAt);
  });

  it("every role can call exactly the procedures its permissions allow (FORBIDDEN 403 otherwise)", async () => {
    await using t = await startTestCoordinator();
    const tokens = {} as Record<Role, string>;
    for (const role of ROLES) tokens[role] = (await t.admin.tokens.create.mutate({ name: `as-${role}`, role })).token;
    for (const role of ROLES) {
      for (const { path } of PROCEDURES) {
        const needed = PERMISSION_OF[path]!;
        const allowed = needed === "public" || PERMISSIONS[role].includes(needed);
        const answer = await rawCall(t.coordinator.url, path, { body: JSON.stringify(VALID_INPUT[path] ?? {}), token: tokens[role] });
        if (allowed) {
          expect([401, 403], `${role} ${path}`).not.toContain(answer.status);
          expect(answer.status, `${role} ${path}`).toBeLessThan(500);
        } else {
          expect(answer.status, `${role} ${path}`).toBe(403);
          expect(errorData(answer)?.droverCode, `${role} ${path}`).toBe("FORBIDDEN");
        }
      }
    }
  });

  it("a worker-role token cannot jobs.submit, jobs.cancel or tokens.create; a reader cannot submit or lease", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }]);
    const w = await t.worker();
    for (const call of [w.client.jobs.submit.mutate({ type: "noop" }), w.client.jobs.cancel.mutate({ id: id! }), w.client.tokens.create.mutate({ name: "x", role: "admin" })]) {
      expect(await failureOf(call)).toMatchObject({ code: "FORBIDDEN", httpStatus: 403 });
    }
    const reader = t.client((await t.admin.tokens.create.mutate({ name: "r", role: "reader" })).token);
    for (const call of [
      reader.jobs.submit.mutate({ type: "noop" }),
      reader.jobs.submitBatch.mutate({ jobs: [{ type: "noop" }] }),
      reader.leases.acquire.mutate({ workerId: w.workerId, types: ["noop"] }),
      reader.workers.register.mutate({ name: "r", types: ["noop"], concurrency: 1, version: "1", host: { hostname: "h", platform: "p", arch: "a", cpus: 1, memoryBytes: 1, pid: 1, nodeVersion: "v" } }),
    ]) {
      expect(await failureOf(call)).toMatchObject({ code: "FORBIDDEN", httpStatus: 403 });
    }
    expect(await t.admin.jobs.list.query({})).toMatchObject({ jobs: [{ id, status: "queued" }] });
    expect((await reader.jobs.get.query({ id: id! })).status).toBe("queued");
  });

  it("a worker cannot use another token's workerId (FORBIDDEN), and changes nothing trying", async () => {
    await using t = await startTestCoordinator();
    const [id] = await submitAll(t, [{ type: "noop" }, { type: "noop" }]);
    const owner = await t.worker();
    const intruder = await t.worker();
    const [lease] = await owner.client.leases.acquire.mutate({ workerId: owner.workerId, types: ["noop"] });
    const workerId = owner.workerId;
    const host = { hostname: "h", platform: "p", arch: "a", cpus: 1, memoryBytes: 1, pid: 1, nodeVersion: "v" };
    for (const call of [
      intruder.client.leases.acquire.mutate({ workerId, types: ["noop"] }),
      intruder.client.leases.heartbeat.mutate({ workerId, leases: [ref(lease!)] }),
      intruder.client.leases.complete.mutate({ workerId, leases: [ref(lease!)] }),
      intruder.client.leases.fail.mutate({ workerId, leases: [{ ...ref(lease!), error: { message: "x" } }] }),
      intruder.client.leases.release.mutate({ workerId, leases: [ref(lease!)] }),
      intruder.client.workers.bye.mutate({ workerId }),
      intruder.client.workers.register.mutate({ name: "steal", types: ["noop"], concurrency: 1, version: "1", host, workerId }),
    ]) {
      expect(await failureOf(call)).toMatchObject({ code: "FORBIDDEN", httpStatus: 403 });
    }
    expect(await t.admin.jobs.get.query({ id: id! })).toMatchObject({ status: "leased", workerId });
    expect((await t.admin.workers.list.query()).find((w) => w.id === workerId)).toMatchObject({ status: "active", activeLeases: 1, name: "test-worker" });
    // An unregistered workerId is NOT_FOUND; an admin may act for any registered worker.
    expect((await failureOf(intruder.client.leases.acquire.mutate({ workerId: "never-registered", types: ["noop"] }))).code).toBe("NOT_FOUND");
    expect((await t.admin.leases.complete.mutate({ workerId, leases: [ref(lease!)] })).results[0]!.outcome).toBe("ok");
  });

  it("tokens are stored hashed: the plaintext appears nowhere in the tokens table or the database files", async () => {
    await using t = await startTestCoordinator();
    const created = await t.admin.tokens.create.mutate({ name: "ci", role: "submitter", user: "alice" });
    expect(created).toMatchObject({ name: "ci", role: "submitter", user: "alice" });
    const secret = created.token.slice(`drv_${created.id}_`.length); // the secret may itself contain "_"
    expect((await t.client(created.token).system.status.query()).you).toEqual({ tokenId: created.id, role: "submitter", user: "alice" });
    expect(Object.keys((await t.admin.tokens.list.query())[0]!)).not.toContain("secretHash");

    const file = `${t.dir}/drover.db`;
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare("SELECT * FROM tokens").all() as Record<string, unknown>[];
      expect(rows.length).toBeGreaterThanOrEqual(2);
      const everything = JSON.stringify(rows);
      for (const plain of [created.token, secret, ADMIN_TOKEN]) expect(everything).not.toContain(plain);
      const row = rows.find((r) => r.id === created.id)!;
      expect(row.secret_hash).toBe(createHash("sha256").update(secret).digest("hex"));
    } finally {
      db.close();
    }
    for (const f of [file, `${file}-wal`]) {
      if (!existsSync(f)) continue;
      const bytes = readFileSync(f);
      for (const plain of [secret, ADMIN_TOKEN]) expect(bytes.includes(plain), `${f} holds a plaintext token`).toBe(false);
    }
  });
});
