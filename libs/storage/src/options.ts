import { z } from "zod";
import { StorageError } from "./errors.ts";
import type { ParsedUrl } from "./url.ts";

/**
 * Backend options, merged from (lowest first) environment variables, the URL's query and
 * the caller's options, then validated once with zod: unknown keys are refused, and an
 * error names the field. Secrets (keys, passwords) never come from a URL: S3 and GCS take
 * credentials from their SDK's own chain, rsync from a password file.
 */
const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")]);
const positiveInt = z.coerce.number().int().positive();

export const s3OptionsSchema = z.strictObject({
  /** Custom endpoint (MinIO, s3rver, R2). Default: AWS for the region. */
  endpoint: z.url().optional(),
  /** Default: AWS_REGION, else us-east-1. */
  region: z.string().min(1).optional(),
  /** Path-style addressing (needed by most non-AWS servers). Default false. */
  forcePathStyle: bool.optional(),
  /** A profile from ~/.aws/config. Default: the SDK's chain (AWS_PROFILE, env keys, …). */
  profile: z.string().min(1).optional(),
  /** Multipart part size in bytes. Default 8 MiB (minimum 5 MiB). */
  partSize: positiveInt.min(5 * 1024 * 1024).optional(),
  /**
   * Files up to this size go up as one streamed PutObject (atomic too), larger ones in
   * parts. Default 200 MiB, rclone's default; at most 5 GiB, S3's single-PUT limit.
   */
  uploadCutoff: positiveInt.min(5 * 1024 * 1024).max(5 * 1024 ** 3).optional(),
  /** Parts uploaded at once. Default 4. */
  queueSize: positiveInt.max(64).optional(),
  /** Explicit credentials, for programmatic use only (never from a URL or env here). */
  credentials: z.strictObject({ accessKeyId: z.string(), secretAccessKey: z.string(), sessionToken: z.string().optional() }).optional(),
});
export type S3Options = z.output<typeof s3OptionsSchema>;

export const gcsOptionsSchema = z.strictObject({
  /** Custom API endpoint (an emulator). Default: Google's. */
  apiEndpoint: z.url().optional(),
  /** Default: the SDK's (GOOGLE_CLOUD_PROJECT, ADC). */
  projectId: z.string().min(1).optional(),
  /** A service-account key file. Default: Application Default Credentials. */
  keyFilename: z.string().min(1).optional(),
});
export type GcsOptions = z.output<typeof gcsOptionsSchema>;

export const rsyncOptionsSchema = z.strictObject({
  /** rsync daemon password file (mode 600). Default: none (or RSYNC_PASSWORD in env). */
  passwordFile: z.string().min(1).optional(),
  /** ssh private key for user@host:/path. Default: ssh's own. */
  sshKey: z.string().min(1).optional(),
  /** ssh known_hosts file. Default: ssh's own. */
  knownHostsFile: z.string().min(1).optional(),
  /** Extra ssh -o options, e.g. ["StrictHostKeyChecking=accept-new"]. */
  sshOptions: z.array(z.string().regex(/^[A-Za-z]+=[^\s]+$/, "ssh options look like Name=value")).optional(),
  /** The rsync binary. Default "rsync" on PATH. */
  rsyncPath: z.string().min(1).optional(),
  /** Seconds an rsync run may move no data before it is stopped as Unavailable (Linux: watched from /proc; elsewhere rsync --timeout). Default 60. */
  timeout: positiveInt.optional(),
});
export type RsyncOptions = z.output<typeof rsyncOptionsSchema>;

export const localOptionsSchema = z.strictObject({
  /** fsync each file before it is renamed into place. Default false. */
  fsync: bool.optional(),
});
export type LocalFileOptions = z.output<typeof localOptionsSchema>;

export interface OpenStorageOptions {
  s3?: z.input<typeof s3OptionsSchema>;
  gcs?: z.input<typeof gcsOptionsSchema>;
  rsync?: z.input<typeof rsyncOptionsSchema>;
  local?: z.input<typeof localOptionsSchema>;
  /** Where DROVER_* settings are read. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Base for relative local paths. Default process.cwd(). */
  cwd?: string;
}

type Env = Record<string, string | undefined>;

function fromEnv(env: Env, map: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, name] of Object.entries(map)) {
    const value = env[name];
    if (value !== undefined && value !== "") out[field] = value;
  }
  return out;
}

const ENV_OF = {
  s3: { endpoint: "DROVER_S3_ENDPOINT", region: "DROVER_S3_REGION", forcePathStyle: "DROVER_S3_FORCE_PATH_STYLE", profile: "DROVER_S3_PROFILE" },
  gs: { apiEndpoint: "DROVER_GCS_ENDPOINT", projectId: "DROVER_GCS_PROJECT", keyFilename: "DROVER_GCS_KEY_FILE" },
  rsync: { passwordFile: "DROVER_RSYNC_PASSWORD_FILE", sshKey: "DROVER_SSH_KEY", knownHostsFile: "DROVER_SSH_KNOWN_HOSTS" },
  file: { fsync: "DROVER_STORAGE_FSYNC" },
} as const;

/** Query keys a URL may carry, per scheme; anything else in a query is refused. */
const QUERY_KEYS = {
  s3: ["endpoint", "region", "forcePathStyle", "profile"],
  gs: ["apiEndpoint", "projectId"],
  rsync: ["passwordFile", "sshKey", "knownHostsFile", "timeout"],
  file: ["fsync"],
  memory: [],
} as const;

export function resolveOptions<T>(
  parsed: ParsedUrl,
  schema: z.ZodType<T>,
  explicit: object | undefined,
  env: Env,
): T {
  const family = parsed.scheme === "ssh" ? "rsync" : parsed.scheme;
  const allowed: readonly string[] = QUERY_KEYS[family];
  for (const key of Object.keys(parsed.query)) {
    if (!allowed.includes(key)) {
      const hint = allowed.length === 0 ? "this scheme takes no options" : `allowed: ${allowed.join(", ")}`;
      throw new StorageError("ConfigInvalid", `storage URL option '${key}' is not accepted for ${parsed.scheme} URLs (${hint})`);
    }
  }
  const envPart = family === "memory" ? {} : fromEnv(env, ENV_OF[family]);
  const merged = { ...envPart, ...parsed.query, ...(explicit ?? {}) };
  const result = schema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join(".") || (issue as { keys?: string[] }).keys?.join(", ") || "options";
    throw new StorageError("ConfigInvalid", `${parsed.scheme} storage option '${field}': ${issue.message}`);
  }
  return result.data;
}
