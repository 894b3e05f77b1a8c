import { StorageError, type StorageErrorKind } from "../errors.ts";

/**
 * GCS errors onto StorageError kinds. The SDK's ApiError carries the HTTP status as a
 * numeric `code`; gaxios errors (resumable uploads) carry it in `status` or
 * `response.status`; socket errors carry a string `code`, which toStorageError maps.
 */
interface GcsErrorLike {
  name?: string;
  code?: number | string;
  status?: number;
  response?: { status?: number };
  message?: string;
}

/** The HTTP status of a GCS answer, if the error is one. */
export function gcsStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as GcsErrorLike;
  if (typeof e.code === "number") return e.code;
  if (typeof e.status === "number") return e.status;
  if (typeof e.response?.status === "number") return e.response.status;
  return undefined;
}

function kindOf(status: number): StorageErrorKind | undefined {
  if (status === 404) return "NotFound";
  if (status === 401 || status === 403) return "PermissionDenied";
  if (status === 409 || status === 412) return "AlreadyExists";
  if (status === 429) return "RateLimited";
  if (status === 408 || status >= 500) return "Unavailable";
  return undefined;
}

export function mapGcsError(error: unknown, key: string | undefined, where: string): StorageError | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as GcsErrorLike;
  const opts = { cause: error, key };
  const message = e.message ?? "";
  if (e.name === "SigningError" || /client_email|Cannot sign data|Could not load the default credentials/i.test(message)) {
    return new StorageError(
      gcsStatus(error) === 403 ? "PermissionDenied" : "Unsupported",
      `cannot sign a GCS URL: ${message} (presigning needs a service-account key: set keyFilename or GOOGLE_APPLICATION_CREDENTIALS)`,
      opts,
    );
  }
  const status = gcsStatus(error);
  const kind = status === undefined ? undefined : kindOf(status);
  if (kind === undefined) return undefined;
  if (kind === "NotFound" && /bucket does not exist/i.test(message)) {
    return new StorageError("NotFound", `GCS bucket of ${where} does not exist: ${message}`, opts);
  }
  if (kind === "NotFound" && key !== undefined) return new StorageError("NotFound", `no object '${key}' in ${where}`, opts);
  const about = key === undefined ? where : `'${key}' in ${where}`;
  return new StorageError(kind, `GCS ${status} (${about}): ${message}`, opts);
}
