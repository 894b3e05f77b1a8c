// What the hub's HTTP routes (and the DSX Hub API) check on each request: the bearer token
// and the file path. Both answer with a status and a Drover error code.
import { DroverError, TRPC_CODE_OF, type DroverErrorCode, type Principal } from "@drover/protocol";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import type { FastifyRequest } from "fastify";

/** The HTTP status a Drover code has on the tRPC routes, so the hub answers alike. */
export function statusOf(code: DroverErrorCode): number {
  return getHTTPStatusCodeFromError(new TRPCError({ code: TRPC_CODE_OF[code] }));
}

/**
 * The caller, or null for a request without a token (public datasets only). A token that is
 * malformed, unknown or revoked is refused outright: a typo must not silently fall back to
 * anonymous access.
 */
export function principalOf(request: FastifyRequest, authenticate: (token: string) => Principal | null): Principal | null {
  const header = request.headers.authorization;
  if (header === undefined) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new DroverError("UNAUTHENTICATED", "authorization header must be 'Bearer <token>'");
  const principal = authenticate(match[1]!);
  if (!principal) throw new DroverError("UNAUTHENTICATED", "unknown or revoked token");
  return principal;
}

/**
 * A file path inside a dataset, as the manifest spells it: relative, '/'-separated, no empty,
 * `.` or `..` segment, no backslash or control character. Anything else is refused, never
 * normalized: a path that tries to leave the dataset is an error, not a different file.
 */
export function filePathOf(raw: string): string {
  const bad = (why: string) => new DroverError("INVALID_INPUT", `path ${JSON.stringify(raw.slice(0, 200))}: ${why}`, { details: { field: "path" } });
  if (raw === "") throw bad("is empty");
  if (raw.length > 4096) throw bad("is longer than 4096 characters");
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) throw bad("holds a backslash or a control character");
  if (raw.startsWith("/")) throw bad("must be relative to the dataset");
  for (const segment of raw.split("/")) {
    if (segment === "..") throw bad("leaves the dataset ('..')");
    if (segment === "" || segment === ".") throw bad("has an empty or '.' segment");
  }
  return raw;
}
