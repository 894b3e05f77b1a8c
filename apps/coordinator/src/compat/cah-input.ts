// What the Crawling@Home client sends, validated once at the edge, and the one error class of
// the compatibility API. The old client reads only status codes and plain-text bodies:
// 400 → ValueError, 403 → ZeroJobError, 404 → WorkerTimedOutError (it registers again).
import { DroverError, type DroverErrorCode } from "@drover/protocol";
import { z } from "zod";

export const WORKER_TYPES = ["HYBRID", "CPU", "GPU"] as const;
export type CahWorkerType = (typeof WORKER_TYPES)[number];

/** A refusal with the status the old client maps and a plain-text message. */
export class CahError extends Error {
  override readonly name = "CahError";
  constructor(
    readonly status: 400 | 403 | 404 | 413 | 502 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** The status each Drover code is answered with on this API (409s become 403: "not yours"). */
const STATUS_OF: Record<DroverErrorCode, number> = {
  UNAUTHENTICATED: 403,
  FORBIDDEN: 403,
  INVALID_INPUT: 400,
  UNKNOWN_JOB_TYPE: 400,
  PAYLOAD_INVALID: 400,
  PAYLOAD_TOO_LARGE: 413,
  NOT_FOUND: 404,
  LEASE_CONFLICT: 403,
  INVALID_STATE: 403,
  ALREADY_EXISTS: 409,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** Status and text for any error a route throws; 500 only for a bug. */
export function describeError(error: unknown): { status: number; message: string } {
  if (error instanceof CahError) return { status: error.status, message: error.message };
  if (error instanceof DroverError) return { status: STATUS_OF[error.code], message: error.code === "INTERNAL" ? "internal error" : error.message };
  // Fastify's own refusals before the handler runs: bad JSON, an unknown content type, a body
  // over the limit. All are the client's input, so never a 500.
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return { status: status === 413 ? 413 : 400, message: error instanceof Error ? error.message : "bad request" };
  }
  return { status: 500, message: "internal error" };
}

/** "missing" when the field is absent, zod's own message otherwise. */
const field = { error: (issue: { input?: unknown }) => (issue.input === undefined ? "missing" : undefined) };

const workerType = z.preprocess((v) => (typeof v === "string" ? v.trim().toUpperCase() : v), z.enum(WORKER_TYPES, field));
const token = z.string(field).min(1).max(200);

export const NewQuery = z.object({ nickname: z.string(field).trim().min(1).max(200), type: workerType });
export const TypeQuery = z.object({ type: workerType });
export const TokenBody = z.object({ token, type: workerType });
export const ProgressBody = TokenBody.extend({
  // Free text from a volunteer's machine: kept short, never refused for its length.
  progress: z.string(field).transform((s) => s.slice(0, 1000)),
});
export const DoneBody = TokenBody.extend({
  /** HYBRID and GPU: the pairs found. */
  count: z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,15}$/).transform(Number)], field).optional(),
  /** CPU: where the intermediate result lies. */
  url: z.string(field).min(1).max(4096).optional(),
});
export const IsCompletedBody = z.object({ addresses: z.array(z.string().max(4096), field).max(10_000) });
export const ShardParams = z.object({ jobId: z.string().regex(/^\d{1,15}$/, "must be a job number").transform(Number) });

/**
 * Parses a query or body; a wrong one is a 400 naming each bad field ("token: missing").
 * A body that is absent or not a JSON object is refused as a whole.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: "body" | "query" | "path"): z.output<S> {
  if (value === undefined || value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CahError(400, `${what}: expected a JSON object`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new CahError(400, parsed.error.issues.map((i) => `${i.path.join(".") || what}: ${i.message}`).join("; "));
  return parsed.data;
}
