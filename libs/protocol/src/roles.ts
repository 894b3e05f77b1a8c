import type { Role } from "./schemas/common.ts";

/**
 * What each role may do. Procedures name the permission they need, not a role, so a
 * new role is one line here.
 * - read: list and get jobs, queues, workers, status
 * - submit: submit, cancel and retry jobs, clear queued jobs (a submitter: only their own)
 * - lease: register as a worker, acquire, heartbeat, complete, fail
 * - manage: pause/resume queues, set their concurrency limits
 * - admin: mint and revoke tokens
 */
export type Permission = "read" | "submit" | "lease" | "manage" | "admin";

export const PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: ["read", "submit", "lease", "manage", "admin"],
  submitter: ["read", "submit"],
  worker: ["read", "lease"],
  reader: ["read"],
};

export function roleAllows(role: Role, permission: Permission): boolean {
  return PERMISSIONS[role].includes(permission);
}

/** Who is calling: resolved from the bearer token by the coordinator. */
export interface Principal {
  tokenId: string;
  role: Role;
  /** Jobs record it; a submitter sees only their own where ownership applies. */
  user: string;
}
