import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import { DroverError, TRPC_CODE_OF, isDroverErrorCode, type DroverErrorCode } from "./errors.ts";
import { roleAllows, type Permission, type Principal } from "./roles.ts";
import type { DroverContext } from "./services.ts";

/** "jobs.0.type: Invalid input; payload: Required" — names every offending field. */
export function describeZodError(error: ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(input)"}: ${issue.message}`)
    .join("; ");
}

const FALLBACK_CODE: Record<string, DroverErrorCode> = {
  BAD_REQUEST: "INVALID_INPUT",
  PARSE_ERROR: "INVALID_INPUT",
  UNAUTHORIZED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "LEASE_CONFLICT",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  METHOD_NOT_SUPPORTED: "INVALID_INPUT",
  UNSUPPORTED_MEDIA_TYPE: "INVALID_INPUT",
  SERVICE_UNAVAILABLE: "UNAVAILABLE",
  CLIENT_CLOSED_REQUEST: "UNAVAILABLE",
};

function droverCodeOf(error: TRPCError): DroverErrorCode {
  const cause = error.cause;
  if (cause instanceof DroverError) return cause.code;
  // An input that fails its schema is a BAD_REQUEST; a ZodError under any other code is an
  // output that failed its schema: a coordinator bug, reported as INTERNAL.
  if (cause instanceof ZodError) return error.code === "BAD_REQUEST" ? "INVALID_INPUT" : "INTERNAL";
  return FALLBACK_CODE[error.code] ?? "INTERNAL";
}

const t = initTRPC.context<DroverContext>().create({
  errorFormatter({ shape, error }) {
    const droverCode = droverCodeOf(error);
    const message =
      error.cause instanceof ZodError && droverCode === "INVALID_INPUT"
        ? describeZodError(error.cause)
        : droverCode === "INTERNAL"
          ? "internal error" // details stay in the coordinator's log, never on the wire
          : shape.message;
    const details = error.cause instanceof DroverError ? error.cause.details : undefined;
    const { stack: _stack, ...data } = shape.data;
    return { ...shape, message, data: { ...data, droverCode, ...(details ? { details } : {}) } };
  },
});

export const router = t.router;

/** Turns a service's DroverError into the tRPC error with the matching HTTP status. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof DroverError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: TRPC_CODE_OF[cause.code], message: cause.message, cause });
  }
  return result;
});

export const publicProcedure = t.procedure.use(mapErrors);

/** A procedure that needs a token whose role grants `permission`. */
export function procedureFor(permission: Permission) {
  return publicProcedure.use(({ ctx, next }) => {
    if (!ctx.principal) {
      throw new DroverError("UNAUTHENTICATED", ctx.authError ?? "a bearer token is required");
    }
    if (!roleAllows(ctx.principal.role, permission)) {
      throw new DroverError("FORBIDDEN", `role '${ctx.principal.role}' may not ${permission}`);
    }
    return next({ ctx: { ...ctx, principal: ctx.principal as Principal } });
  });
}

export { isDroverErrorCode };
