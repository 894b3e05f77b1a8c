/**
 * The one error type of @drover/storage. Every backend maps its SDK's errors onto these
 * kinds (OpenDAL's lesson): callers branch on `kind` and `retryable`, never on a message
 * or on which backend they talk to. Every kind is documented in STORAGE_ERROR_DOCS and
 * in the README (a test checks both).
 */
export const STORAGE_ERROR_KINDS = [
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ChecksumMismatch",
  "Unsupported",
  "ConfigInvalid",
  "InvalidKey",
  "Unavailable",
  "RateLimited",
  "Aborted",
  "Unexpected",
] as const;

export type StorageErrorKind = (typeof STORAGE_ERROR_KINDS)[number];

export const STORAGE_ERROR_DOCS: Record<StorageErrorKind, string> = {
  NotFound: "The object, bucket, module or directory does not exist.",
  AlreadyExists: "The target exists where the operation needs it absent (a precondition failed on the server).",
  PermissionDenied: "The credentials may not do this, or a key tried to leave the storage root.",
  ChecksumMismatch: "The bytes that arrived do not hash to the expected sha256 (or size); the bad copy was removed.",
  Unsupported: "The backend cannot do this (see its capabilities); nothing was done.",
  ConfigInvalid: "The URL or an option is wrong, or a required tool (rsync, ssh) is missing; the message names it.",
  InvalidKey: "The key is empty, has an empty, '.' or '..' segment, or holds a NUL byte.",
  Unavailable: "The server could not be reached or answered 5xx; a retry may succeed.",
  RateLimited: "The server asked to slow down (429, SlowDown); retry after a pause.",
  Aborted: "The caller's AbortSignal fired; nothing partial was left behind.",
  Unexpected: "An error no other kind describes; the cause carries the original.",
};

const RETRYABLE: ReadonlySet<StorageErrorKind> = new Set(["Unavailable", "RateLimited"]);

export interface StorageErrorOptions {
  cause?: unknown;
  /** Overrides the kind's default retryability (e.g. a checksum mismatch from a flaky link). */
  retryable?: boolean;
  /** The key or URL the failing operation was about; shown in the message. */
  key?: string;
}

export class StorageError extends Error {
  override readonly name = "StorageError";
  readonly kind: StorageErrorKind;
  readonly retryable: boolean;
  readonly key: string | undefined;

  constructor(kind: StorageErrorKind, message: string, options: StorageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.retryable = options.retryable ?? RETRYABLE.has(kind);
    this.key = options.key;
  }
}

export function isStorageError(value: unknown, kind?: StorageErrorKind): value is StorageError {
  return value instanceof StorageError && (kind === undefined || value.kind === kind);
}

/** Node's system error codes that mean "try again later". */
const TRANSIENT_SYSCALL_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * Maps anything thrown below the library onto a StorageError: filesystem and socket errors
 * by their code, aborts by name. Backends map their SDK-specific errors first and call this
 * for the rest.
 */
export function toStorageError(error: unknown, key?: string): StorageError {
  if (error instanceof StorageError) return error;
  const opts = { cause: error, key };
  const err = error as { name?: string; code?: string; message?: string } | undefined;
  const message = err?.message ?? String(error);
  const where = key === undefined ? "" : ` (${key})`;
  if (err?.name === "AbortError" || err?.code === "ABORT_ERR") {
    return new StorageError("Aborted", `operation aborted${where}`, opts);
  }
  switch (err?.code) {
    case "ENOENT":
    case "ENOTDIR":
      return new StorageError("NotFound", `not found${where}`, opts);
    case "EEXIST":
      return new StorageError("AlreadyExists", `already exists${where}`, opts);
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new StorageError("PermissionDenied", `permission denied${where}: ${message}`, opts);
    case "EISDIR":
      return new StorageError("InvalidKey", `is a directory, not an object${where}`, opts);
  }
  if (err?.code !== undefined && TRANSIENT_SYSCALL_CODES.has(err.code)) {
    return new StorageError("Unavailable", `${err.code}${where}: ${message}`, opts);
  }
  return new StorageError("Unexpected", `${message}${where}`, opts);
}

/** The error to throw when a signal has fired; keeps the signal's reason as the cause. */
export function abortedError(signal: AbortSignal, key?: string): StorageError {
  return new StorageError("Aborted", `operation aborted${key === undefined ? "" : ` (${key})`}`, {
    cause: signal.reason,
    key,
  });
}

export function throwIfAborted(signal: AbortSignal | undefined, key?: string): void {
  if (signal?.aborted) throw abortedError(signal, key);
}
