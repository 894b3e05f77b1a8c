// How download.url fails. The worker only asks one thing of an error: NonRetryableError (fail
// for good) or anything else (try the job again). Within one attempt the runner retries too,
// so a failure a retry may fix is a DownloadError, and one it cannot is a NonRetryableError;
// both carry a code from DOWNLOAD_ERROR_DOCS. Nobody parses a message.
import type { StorageError } from "@drover/storage";
import { NonRetryableError } from "../errors.ts";

/** Every code download.url fails with, and what it means. `HTTP_<status>` stands for all statuses. */
export const DOWNLOAD_ERROR_DOCS = {
  // Retryable: thrown as DownloadError, retried within the attempt, then by the coordinator.
  CONNECT_TIMEOUT: "No TCP/TLS connection within connectTimeoutMs.",
  IDLE_TIMEOUT: "No response headers, or no body bytes, for idleTimeoutMs.",
  TOTAL_TIMEOUT: "The download did not finish within totalTimeoutMs (not retried within the attempt).",
  NETWORK: "The connection was refused, reset or closed early, or the response was malformed.",
  TRUNCATED: "The body ended before the length the server declared.",
  STORAGE_UNAVAILABLE: "The destination storage failed in a way a retry may fix (5xx, throttling).",
  // Either: 408, 429 and 5xx are retryable; other statuses are not.
  "HTTP_<status>": "The server answered with this status. 408, 429 and 5xx are retried; any other 4xx or an unexpected status fails for good.",
  // Not retryable: thrown as NonRetryableError.
  TOO_MANY_REDIRECTS: "More than maxRedirects redirects.",
  REDIRECT_LOOP: "A redirect led back to a URL already visited.",
  BAD_REDIRECT: "A redirect without a usable Location, or to a scheme other than http(s).",
  TOO_LARGE: "The body, or its declared Content-Length, is larger than maxBytes.",
  SIZE_MISMATCH: "The body's size is not the payload's `size`.",
  SHA256_MISMATCH: "The body's sha256 is not the payload's `sha256`.",
  BODY_OVERRUN: "The server sent more bytes than it declared.",
  DNS_NOT_FOUND: "The host name does not exist.",
  TLS_FAILED: "The TLS handshake failed or the server's certificate was refused.",
  NO_UNIQUE_NAME: "uniqueName found every candidate name taken.",
  DEST_INVALID: "dest names neither a folder (ending in \"/\") nor an object (a URL or path ending in a file name).",
  "STORAGE_<kind>": "The destination storage refused the write for good (PermissionDenied, ConfigInvalid, …).",
} as const;

export type DownloadErrorCode = Exclude<keyof typeof DOWNLOAD_ERROR_DOCS, "HTTP_<status>" | "STORAGE_<kind>"> | `HTTP_${number}` | `STORAGE_${string}`;

/** A failure another request may fix. */
export class DownloadError extends Error {
  override readonly name = "DownloadError";
  readonly code: DownloadErrorCode;
  /** The server's Retry-After, when it sent one. */
  readonly retryAfterMs: number | undefined;
  /** Not to be retried within this attempt any more (budget spent, deadline passed): the coordinator's turn. */
  readonly final: boolean;
  constructor(code: DownloadErrorCode, message: string, options: { cause?: unknown; retryAfterMs?: number; final?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
    this.final = options.final ?? false;
  }
}

export function permanent(code: DownloadErrorCode, message: string, cause?: unknown): NonRetryableError {
  return new NonRetryableError(message, { code, cause });
}

/** A URL fit for logs and errors: no query string (signed URLs keep their secrets there). */
export function describeUrl(url: URL | string): string {
  const u = typeof url === "string" ? new URL(url) : url;
  return `${u.origin}${u.pathname}${u.search === "" ? "" : "?…"}`;
}

/** 408, 429 and 5xx may pass; any other status that is not a success will not. */
export function statusError(status: number, statusText: string, url: URL, retryAfter: string | undefined): DownloadError | NonRetryableError {
  const message = `GET ${describeUrl(url)}: HTTP ${status}${statusText === "" ? "" : ` ${statusText}`}`;
  if (status === 408 || status === 429 || (status >= 500 && status <= 599)) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return new DownloadError(`HTTP_${status}`, message, retryAfterMs === undefined ? {} : { retryAfterMs });
  }
  return permanent(`HTTP_${status}`, message);
}

/** Retry-After as seconds or an HTTP date, in ms from now. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** By name, not instanceof: this file must not load @drover/storage (the coordinator imports it). */
function isStorageError(error: unknown): error is StorageError {
  return error instanceof Error && error.name === "StorageError" && typeof (error as StorageError).kind === "string";
}

const CERTIFICATE_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
]);

/**
 * Maps what node:http, the stream plumbing or the storage threw onto a DownloadError or a
 * NonRetryableError. Anything else (a bug, a Node ERR_* misuse) is returned unchanged: it is
 * not retried here.
 */
export function toDownloadFailure(error: unknown, url: URL): unknown {
  if (error instanceof DownloadError || error instanceof NonRetryableError) return error;
  if (isStorageError(error)) {
    if (error.retryable) return new DownloadError("STORAGE_UNAVAILABLE", `dest: ${error.message}`, { cause: error });
    return permanent(`STORAGE_${error.kind.replace(/[a-z](?=[A-Z])/g, "$&_").toUpperCase()}`, `dest: ${error.message}`, error);
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return error;
  const message = `GET ${describeUrl(url)}: ${code}: ${(error as Error).message}`;
  if (code === "ENOTFOUND") return permanent("DNS_NOT_FOUND", message, error);
  // EPROTO: OpenSSL's handshake failures (e.g. "wrong version number": the port does not speak TLS).
  const tls = code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_") || (code === "EPROTO" && url.protocol === "https:");
  if (tls || CERTIFICATE_CODES.has(code)) return permanent("TLS_FAILED", message, error);
  // Socket errors (ECONNRESET - also Node's "aborted" for a body cut short - ECONNREFUSED,
  // EPIPE, ETIMEDOUT, EAI_AGAIN, …), HTTP parse errors (HPE_*) and early stream ends.
  if ((/^E[A-Z0-9_]+$/.test(code) && !code.startsWith("ERR_")) || code.startsWith("HPE_") || code === "ERR_STREAM_PREMATURE_CLOSE") {
    return new DownloadError("NETWORK", message, { cause: error });
  }
  return error;
}
