import { DroverError, type Principal } from "@drover/protocol";

/**
 * Whose jobs a caller may see and act on. A submitter works on their own jobs only; an
 * admin on everyone's; a reader (and a worker) sees everyone's but may change nothing,
 * which the router's permissions already enforce.
 * Returns the owner to filter on, or undefined for no filter.
 */
export function ownerScope(by: Principal): string | undefined {
  return by.role === "submitter" ? by.user : undefined;
}

/**
 * Another owner's job looks exactly like a missing one to a submitter: the answer must not
 * reveal which job ids exist.
 */
export function assertVisible(by: Principal, job: { id: number; createdBy: string | null }): void {
  const owner = ownerScope(by);
  if (owner !== undefined && job.createdBy !== owner) throw new DroverError("NOT_FOUND", `job ${job.id} does not exist`, { details: { field: "id" } });
}
