import { z } from "zod";

const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every coordinator setting, its env name, and its default. Validated once at start. */
export const CoordinatorConfigSchema = z.strictObject({
  /** Address to listen on (DROVER_HOST); default 127.0.0.1 — set 0.0.0.0 to serve other machines. */
  host: z.string().min(1).default("127.0.0.1"),
  /** Port (DROVER_PORT); default 7400, 0 picks a free one. */
  port: int(0, 65535).default(7400),
  /** Directory for the SQLite file (DROVER_DATA_DIR); default ./.drover */
  dataDir: z.string().min(1).default("./.drover"),
  /** SQLite file (DROVER_DB); default <dataDir>/drover.db */
  db: z.string().min(1).optional(),
  /** An admin token to accept (DROVER_ADMIN_TOKEN), 16+ characters; otherwise one is minted and printed at first start. */
  adminToken: z.string().min(16).max(200).optional(),
  /** Lease length for jobs whose type and submit do not say (DROVER_DEFAULT_LEASE_SECONDS); default 60. */
  defaultLeaseSeconds: int(1, 86_400).default(60),
  /** Attempts for jobs whose type and submit do not say (DROVER_DEFAULT_MAX_ATTEMPTS); default 3. */
  defaultMaxAttempts: int(1, 1000).default(3),
  /** First retry delay (DROVER_RETRY_BASE_MS); default 1000, doubling per attempt with jitter. */
  retryBaseMs: int(0, 3_600_000).default(1000),
  /** Longest retry delay (DROVER_RETRY_MAX_MS); default 300000. */
  retryMaxMs: int(0, 86_400_000).default(300_000),
  /** How often the reaper looks for expired leases (DROVER_REAPER_INTERVAL_MS); default 1000. */
  reaperIntervalMs: int(10, 600_000).default(1000),
  /** Plugin modules whose job types' payloads to validate (DROVER_PLUGINS, comma-separated). */
  plugins: z.array(z.string().min(1)).default([]),
  /** Accept jobs of types no loaded plugin defines, unvalidated (DROVER_ACCEPT_UNKNOWN_TYPES); default false. */
  acceptUnknownTypes: bool.default(false),
  /** pino level (DROVER_LOG_LEVEL); default info. */
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Largest request body in bytes (DROVER_BODY_LIMIT); default 16 MiB. */
  bodyLimit: int(1024, 1024 ** 3).default(16 * 1024 * 1024),
  /**
   * Serve the Crawling@Home server API (`/api/*`) for old crawling@home clients
   * (DROVER_CRAWL_COMPAT); default false. Those routes take no bearer token: enable only for
   * volunteer fleets.
   */
  crawlCompat: bool.default(false),
  /** What the Crawling@Home API hands out as the upload address (DROVER_CRAWL_UPLOAD_ADDRESS); default "". */
  crawlUploadAddress: z.string().max(4096).default(""),
  /**
   * Memory for the hub's cache of small dataset files (DROVER_HUB_CACHE_BYTES); default 256 MiB,
   * 0 turns it off. Files up to 256 KiB are checked against their manifest sha256 when first
   * read and then served from memory.
   */
  hubCacheBytes: int(0, 64 * 1024 ** 3).default(256 * 1024 * 1024),
});

export type CoordinatorConfigInput = z.input<typeof CoordinatorConfigSchema>;
export type CoordinatorConfig = Readonly<z.output<typeof CoordinatorConfigSchema>>;

/** Env var → config key, for error messages and for reading the environment. */
export const COORDINATOR_ENV: Record<string, keyof CoordinatorConfigInput> = {
  DROVER_HOST: "host",
  DROVER_PORT: "port",
  DROVER_DATA_DIR: "dataDir",
  DROVER_DB: "db",
  DROVER_ADMIN_TOKEN: "adminToken",
  DROVER_DEFAULT_LEASE_SECONDS: "defaultLeaseSeconds",
  DROVER_DEFAULT_MAX_ATTEMPTS: "defaultMaxAttempts",
  DROVER_RETRY_BASE_MS: "retryBaseMs",
  DROVER_RETRY_MAX_MS: "retryMaxMs",
  DROVER_REAPER_INTERVAL_MS: "reaperIntervalMs",
  DROVER_PLUGINS: "plugins",
  DROVER_ACCEPT_UNKNOWN_TYPES: "acceptUnknownTypes",
  DROVER_LOG_LEVEL: "logLevel",
  DROVER_BODY_LIMIT: "bodyLimit",
  DROVER_CRAWL_COMPAT: "crawlCompat",
  DROVER_CRAWL_UPLOAD_ADDRESS: "crawlUploadAddress",
  DROVER_HUB_CACHE_BYTES: "hubCacheBytes",
};

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Parses and freezes a config. Reads `env` (DROVER_*) under `overrides` (flags win);
 * a wrong value throws ConfigError naming the setting and its env var.
 */
export function parseConfig<S extends z.ZodObject>(
  schema: S,
  envMap: Record<string, string>,
  overrides: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  /** Config key → CLI flag where the flag is not the key in kebab case. */
  flagOf: Record<string, string> = {},
): Readonly<z.output<S>> {
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(envMap)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    fromEnv[key] = key === "plugins" || key === "types" ? value.split(",").map((s) => s.trim()).filter(Boolean) : value;
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const parsed = schema.safeParse({ ...fromEnv, ...defined });
  if (!parsed.success) {
    const envOf = Object.fromEntries(Object.entries(envMap).map(([e, k]) => [k, e]));
    const text = parsed.error.issues
      .map((i) => {
        const key = String(i.path[0] ?? "");
        const hint = envOf[key] ? ` (flag --${flagOf[key] ?? kebab(key)} or env ${envOf[key]})` : "";
        return `${i.path.join(".") || "(config)"}${hint}: ${i.message}`;
      })
      .join("; ");
    throw new ConfigError(`invalid configuration: ${text}`);
  }
  return Object.freeze(parsed.data);
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function parseCoordinatorConfig(overrides: CoordinatorConfigInput | Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): CoordinatorConfig {
  return parseConfig(CoordinatorConfigSchema, COORDINATOR_ENV, overrides, env, { plugins: "plugin" });
}
