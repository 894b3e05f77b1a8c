import { appRouter, type Permission } from "@drover/protocol";
import type { ZodType } from "zod";

/** Every procedure of the router, enumerated from the router itself (not a hand-kept list). */
export const PROCEDURES = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string; inputs: unknown[] } }>).map(
  ([path, p]) => ({ path, type: p._def.type as "query" | "mutation", input: p._def.inputs[0] as ZodType | undefined }),
);

const host = { hostname: "h", platform: "linux", arch: "x64", cpus: 1, memoryBytes: 1, pid: 1, nodeVersion: "v20" };
const leaseRef = { jobId: 1, attempt: 1, leaseId: "lease" };

/**
 * An input each procedure's schema accepts (the call may still fail: no such job, worker...).
 * A test checks that every procedure with an input has one here, so a new procedure
 * cannot slip past the auth and bad-input tests.
 */
export const VALID_INPUT: Record<string, Record<string, unknown>> = {
  "jobs.submit": { type: "noop", payload: {} },
  "jobs.submitBatch": { jobs: [{ type: "noop" }] },
  "jobs.get": { id: 999_999 },
  "jobs.list": { limit: 5 },
  "jobs.counts": { type: "noop" },
  "jobs.events": { id: 999_999 },
  "jobs.logs": { id: 999_999 },
  "jobs.cancel": { id: 999_999 },
  "jobs.retry": { id: 999_999 },
  "jobs.allocateIds": { sequence: "test.ids", count: 10 },
  "leases.acquire": { workerId: "no-such-worker", types: ["noop"], max: 1, waitMs: 0 },
  "leases.heartbeat": { workerId: "no-such-worker", leases: [leaseRef] },
  "leases.complete": { workerId: "no-such-worker", leases: [leaseRef] },
  "leases.fail": { workerId: "no-such-worker", leases: [{ ...leaseRef, error: { message: "m" }, retryable: true }] },
  "leases.release": { workerId: "no-such-worker", leases: [leaseRef] },
  "queues.stats": { queue: "no-such-queue" },
  "queues.pause": { queue: "q", seconds: 5 },
  "queues.resume": { queue: "q" },
  "queues.clear": { queue: "q" },
  "queues.setConcurrency": { queue: "q", concurrency: 4, groupConcurrency: 2 },
  "workers.register": { name: "w", types: ["noop"], concurrency: 1, version: "1", host },
  "workers.bye": { workerId: "no-such-worker" },
  "tokens.create": { name: "t", role: "reader" },
  "projects.add": { slug: "p", storageRoot: "memory://", workflow: { kind: "bash", script: "true" } },
  "projects.get": { project: "no-such-project" },
  "datasets.add": { project: "no-such-project", slug: "d" },
  "datasets.list": { project: "no-such-project" },
  "datasets.get": { dataset: "no-such-dataset" },
  "datasets.files": { dataset: "no-such-dataset", limit: 5, cursor: "a" },
  "datasets.refreshManifest": { dataset: "no-such-dataset" },
  "datasets.run": { datasets: ["no-such-dataset"] },
  "datasets.runs": { dataset: "no-such-dataset", limit: 5 },
  "workflow.start": {
    lease: leaseRef,
    diagnostics: { host: "h", os: "linux", arch: "x64", cores: 1, memoryBytes: 1, freeMemoryBytes: 1, versions: { node: "v20" } },
  },
  "workflow.stage": { lease: leaseRef, stage: "workflow", state: "fail", note: "boom" },
  "workflow.files": { lease: leaseRef, limit: 5 },
  "workflow.finish": { lease: leaseRef, uploaded: ["a.txt"], deleted: [] },
  // Attribute values are free-form (their type is inferred), so no value has a wrong type.
  "items.add": { dataset: "no-such-dataset", slug: "a:b", name: "b" },
  "items.list": { dataset: "no-such-dataset", limit: 5 },
  "items.setAttribute": { dataset: "no-such-dataset", item: "a", key: "n", value: "text", type: "char" },
  "tokens.revoke": { id: "no-such-token" },
  // Procedures that take no input still have a strict empty one, so a stray body is refused.
  "queues.list": {},
  "projects.list": {},
  "workers.list": {},
  "workers.leaderboard": {},
  "workers.countersByType": {},
  "tokens.list": {},
  "system.health": {},
  "system.status": {},
};

/** The permission each procedure needs (roles.ts); "public" needs no token. */
export const PERMISSION_OF: Record<string, Permission | "public"> = {
  "jobs.submit": "submit",
  "jobs.submitBatch": "submit",
  "jobs.get": "read",
  "jobs.list": "read",
  "jobs.counts": "read",
  "jobs.events": "read",
  "jobs.logs": "read",
  "jobs.cancel": "submit",
  "jobs.retry": "submit",
  "leases.acquire": "lease",
  "leases.heartbeat": "lease",
  "leases.complete": "lease",
  "leases.fail": "lease",
  "leases.release": "lease",
  "queues.list": "read",
  "queues.stats": "read",
  "queues.pause": "manage",
  "queues.resume": "manage",
  "queues.clear": "submit",
  "queues.setConcurrency": "manage",
  "workers.register": "lease",
  "workers.bye": "lease",
  "workers.list": "read",
  "workers.leaderboard": "read",
  "workers.countersByType": "read",
  "jobs.allocateIds": "submit",
  "tokens.create": "admin",
  "tokens.list": "admin",
  "tokens.revoke": "admin",
  "projects.add": "submit",
  "projects.list": "read",
  "projects.get": "read",
  "datasets.add": "submit",
  "datasets.list": "read",
  "datasets.get": "read",
  "datasets.files": "read",
  "datasets.refreshManifest": "submit",
  "datasets.run": "submit",
  "datasets.runs": "read",
  "workflow.start": "lease",
  "workflow.stage": "lease",
  "workflow.files": "lease",
  "workflow.finish": "lease",
  "items.add": "submit",
  "items.list": "read",
  "items.setAttribute": "submit",
  "system.health": "public",
  "system.status": "read",
};

export interface RawAnswer {
  status: number;
  /** The parsed JSON body, or the text when it was not JSON. */
  body: unknown;
  json: boolean;
}

/** POSTs a raw body to `/trpc/<path>` (queries too: the server allows method override). */
export async function rawCall(url: string, path: string, opts: { body?: string | undefined; token?: string | undefined; contentType?: string; authorization?: string } = {}): Promise<RawAnswer> {
  const headers: Record<string, string> = { "content-type": opts.contentType ?? "application/json" };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.authorization) headers.authorization = opts.authorization;
  const res = await fetch(`${url}/trpc/${path}`, { method: "POST", headers, ...(opts.body === undefined ? {} : { body: opts.body }) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown, json: true };
  } catch {
    return { status: res.status, body: text, json: false };
  }
}

/** The error's Drover code and HTTP status as they travel in the tRPC error shape. */
export function errorData(answer: RawAnswer): { droverCode?: string; httpStatus?: number } | undefined {
  return (answer.body as { error?: { data?: { droverCode?: string; httpStatus?: number } } } | null)?.error?.data;
}
