import { hostname } from "node:os";
import { z } from "zod";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z.union([z.array(z.string().min(1)), z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))]);

/** Every worker setting, its env name and default. Validated once at start. */
export const WorkerConfigSchema = z.strictObject({
  /** Coordinator URL (DROVER_URL); default http://127.0.0.1:7400 */
  url: z.string().url().default("http://127.0.0.1:7400"),
  /** A worker-role (or admin) token (DROVER_TOKEN). Required. */
  token: z.string().min(16, "a worker token is required (drover tokens create --role worker)"),
  /** Name shown in `drover workers list` (DROVER_WORKER_NAME); default the host name. */
  name: z.string().min(1).max(200).default(hostname()),
  /** Job types to lease (DROVER_TYPES, comma-separated); default every loaded type except `exec`. */
  types: list.optional(),
  /** Only jobs in these queues (DROVER_QUEUES, comma-separated); default every queue of `types`. */
  queues: list.optional(),
  /**
   * django-crunch's loop (DROVER_PROJECT): run this project's dataset workflows and nothing
   * else. Sets types to `dataset.workflow` and queues to the project's queue.
   */
  project: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, "must be a project slug")
    .max(100)
    .optional(),
  /** Jobs run at once (DROVER_CONCURRENCY); default 1. */
  concurrency: int(1, 10_000).default(1),
  /** Plugin modules to load (DROVER_PLUGINS, comma-separated paths or package names). */
  plugins: list.default([]),
  /** Where attempts get their fresh work dirs (DROVER_WORK_DIR); default the OS temp dir. */
  workDir: z.string().min(1).optional(),
  /** On SIGTERM, how long running jobs may finish before they are released (DROVER_SHUTDOWN_GRACE_MS); default 30000. */
  shutdownGraceMs: int(0, 3_600_000).default(30_000),
  /** Long-poll length of each acquire (DROVER_POLL_MS); default 20000. */
  pollMs: int(0, 60_000).default(20_000),
  /** Labels shown in `drover workers list` (DROVER_LABELS as k=v,k=v). */
  labels: z
    .union([z.record(z.string(), z.string()), z.string().transform((s) => Object.fromEntries(s.split(",").filter(Boolean).map((kv) => kv.split("=", 2) as [string, string])))])
    .default({}),
  /** pino level (DROVER_LOG_LEVEL); default info. */
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type WorkerConfigInput = z.input<typeof WorkerConfigSchema>;
export type WorkerConfig = Readonly<z.output<typeof WorkerConfigSchema>>;

export const WORKER_ENV: Record<string, keyof WorkerConfigInput> = {
  DROVER_URL: "url",
  DROVER_TOKEN: "token",
  DROVER_WORKER_NAME: "name",
  DROVER_TYPES: "types",
  DROVER_QUEUES: "queues",
  DROVER_PROJECT: "project",
  DROVER_CONCURRENCY: "concurrency",
  DROVER_PLUGINS: "plugins",
  DROVER_WORK_DIR: "workDir",
  DROVER_SHUTDOWN_GRACE_MS: "shutdownGraceMs",
  DROVER_POLL_MS: "pollMs",
  DROVER_LABELS: "labels",
  DROVER_LOG_LEVEL: "logLevel",
};
