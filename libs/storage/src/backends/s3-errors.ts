import { StorageError, type StorageErrorKind } from "../errors.ts";

/**
 * S3's errors onto StorageError kinds, by the error's name (S3's code) and HTTP status.
 * HEAD answers have no body, so their errors are named after the status ("NotFound",
 * "Forbidden"); a missing bucket is only recognisable where S3 sends a body (NoSuchBucket).
 */
interface S3ErrorLike {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The S3 error code, with HEAD's bare 404 named "NotFound" like the SDK names it. */
export function s3ErrorName(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as S3ErrorLike;
  const name = e.Code ?? e.name;
  if (name === "NoSuchKey" || (e.$metadata?.httpStatusCode === 404 && name !== "NoSuchBucket")) return "NotFound";
  return name;
}

const BY_NAME: Record<string, StorageErrorKind> = {
  NotFound: "NotFound",
  NoSuchUpload: "NotFound",
  AccessDenied: "PermissionDenied",
  Forbidden: "PermissionDenied",
  InvalidAccessKeyId: "PermissionDenied",
  SignatureDoesNotMatch: "PermissionDenied",
  ExpiredToken: "PermissionDenied",
  InvalidToken: "PermissionDenied",
  AllAccessDisabled: "PermissionDenied",
  CredentialsProviderError: "PermissionDenied",
  PreconditionFailed: "AlreadyExists",
  SlowDown: "RateLimited",
  Throttling: "RateLimited",
  ThrottlingException: "RateLimited",
  TooManyRequests: "RateLimited",
  RequestLimitExceeded: "RateLimited",
  TooManyRequestsException: "RateLimited",
  TimeoutError: "Unavailable",
  RequestTimeout: "Unavailable",
  RequestTimeTooSkewed: "PermissionDenied",
  InternalError: "Unavailable",
  ServiceUnavailable: "Unavailable",
  NotImplemented: "Unsupported",
  MethodNotAllowed: "Unsupported",
  EntityTooLarge: "Unsupported",
  InvalidBucketName: "ConfigInvalid",
  PermanentRedirect: "ConfigInvalid",
  AuthorizationHeaderMalformed: "ConfigInvalid",
};

const BY_STATUS: ReadonlyArray<[(status: number) => boolean, StorageErrorKind]> = [
  [(s) => s === 404, "NotFound"],
  [(s) => s === 401 || s === 403, "PermissionDenied"],
  [(s) => s === 412, "AlreadyExists"],
  [(s) => s === 429, "RateLimited"],
  [(s) => s >= 500, "Unavailable"],
];

/** undefined for what is not an S3 answer (sockets, aborts): toStorageError maps those. */
export function mapS3Error(error: unknown, key: string | undefined, bucket: string, where: string): StorageError | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as S3ErrorLike;
  const name = s3ErrorName(error);
  const status = e.$metadata?.httpStatusCode;
  const opts = { cause: error, key };
  if (name === "NoSuchBucket") return new StorageError("NotFound", `S3 bucket '${bucket}' does not exist`, opts);
  if (name === "NotFound" && key !== undefined) return new StorageError("NotFound", `no object '${key}' in ${where}`, opts);
  if (name === "CredentialsProviderError") {
    return new StorageError("PermissionDenied", `no AWS credentials found (set a profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass credentials): ${e.message}`, opts);
  }
  let kind = name === undefined ? undefined : BY_NAME[name];
  if (kind === undefined && status !== undefined) kind = BY_STATUS.find(([test]) => test(status))?.[1];
  if (kind === undefined) return undefined;
  const detail = [name, status === undefined ? undefined : `HTTP ${status}`, e.message].filter((v) => v !== undefined && v !== "").join(", ");
  const summary: Record<StorageErrorKind, string> = {
    NotFound: "not found",
    AlreadyExists: "precondition failed (the object exists)",
    PermissionDenied: "permission denied",
    ChecksumMismatch: "checksum mismatch",
    Unsupported: "not supported by this S3 server",
    ConfigInvalid: "S3 configuration is wrong",
    InvalidKey: "invalid key",
    Unavailable: "S3 unavailable",
    RateLimited: "S3 asked to slow down",
    Aborted: "aborted",
    Unexpected: "unexpected S3 error",
  };
  const about = key === undefined ? where : `'${key}' in ${where}`;
  return new StorageError(kind, `${summary[kind]} (${about}): ${detail}`, opts);
}
