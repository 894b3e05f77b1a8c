/**
 * The one error catalog of the Drover protocol. Codes travel over the wire in
 * `error.data.droverCode`; callers branch on the code, never on the message.
 * Every code is documented in ERROR_DOCS (a test checks that none is missing).
 */
export const ERROR_CODES = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "INVALID_INPUT",
  "UNKNOWN_JOB_TYPE",
  "PAYLOAD_INVALID",
  "PAYLOAD_TOO_LARGE",
  "NOT_FOUND",
  "LEASE_CONFLICT",
  "INVALID_STATE",
  "ALREADY_EXISTS",
  "UNAVAILABLE",
  "INTERNAL",
] as const;

export type DroverErrorCode = (typeof ERROR_CODES)[number];

/** The tRPC code (and so the HTTP status) each Drover code is sent with. */
export const TRPC_CODE_OF = {
  UNAUTHENTICATED: "UNAUTHORIZED", // 401
  FORBIDDEN: "FORBIDDEN", // 403
  INVALID_INPUT: "BAD_REQUEST", // 400
  UNKNOWN_JOB_TYPE: "BAD_REQUEST", // 400
  PAYLOAD_INVALID: "BAD_REQUEST", // 400
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE", // 413
  NOT_FOUND: "NOT_FOUND", // 404
  LEASE_CONFLICT: "CONFLICT", // 409
  INVALID_STATE: "CONFLICT", // 409
  ALREADY_EXISTS: "CONFLICT", // 409
  UNAVAILABLE: "SERVICE_UNAVAILABLE", // 503
  INTERNAL: "INTERNAL_SERVER_ERROR", // 500
} as const satisfies Record<DroverErrorCode, string>;

export const ERROR_DOCS: Record<DroverErrorCode, string> = {
  UNAUTHENTICATED: "No bearer token, an unknown token, or a revoked one.",
  FORBIDDEN: "The token's role does not allow this procedure, or the object belongs to another user.",
  INVALID_INPUT: "The input does not match the procedure's schema; the message names the field.",
  UNKNOWN_JOB_TYPE: "A job was submitted for a type the coordinator was not configured to accept.",
  PAYLOAD_INVALID: "A job's payload does not match its type's payload schema; the message names the field.",
  PAYLOAD_TOO_LARGE: "A job payload, result or request body is over the size limit.",
  NOT_FOUND: "The job, worker, token, queue, project, dataset or item does not exist (or is another user's private one).",
  LEASE_CONFLICT: "The lease is not the job's current lease (stale attempt, expired and re-leased, cancelled); nothing was changed.",
  INVALID_STATE: "The object is not in a state that allows the operation (e.g. retrying a job that has not failed).",
  ALREADY_EXISTS: "A project, dataset or item with this slug exists already.",
  UNAVAILABLE: "The coordinator is shutting down or cannot reach its database; retry later.",
  INTERNAL: "A bug: the coordinator logged the details.",
};

export interface DroverErrorOptions {
  cause?: unknown;
  /** Extra machine-readable facts (e.g. the offending field path). */
  details?: Record<string, unknown>;
}

export class DroverError extends Error {
  override readonly name = "DroverError";
  readonly code: DroverErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: DroverErrorCode, message: string, options: DroverErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** Whether repeating the same call later can succeed. */
  get retryable(): boolean {
    return this.code === "UNAVAILABLE";
  }
}

export function isDroverErrorCode(value: unknown): value is DroverErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}
