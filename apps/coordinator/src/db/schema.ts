import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// Times are epoch milliseconds in integer columns; JSON is stored as text.

export const jobs = sqliteTable(
  "jobs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    type: text("type").notNull(),
    queue: text("queue").notNull(),
    payload: text("payload").notNull(),
    priority: integer("priority").notNull().default(0),
    runAfter: integer("run_after").notNull(),
    status: text("status", { enum: ["queued", "leased", "succeeded", "failed", "cancelled"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    leaseSeconds: integer("lease_seconds").notNull(),
    leaseId: text("lease_id"),
    leaseExpiresAt: integer("lease_expires_at"),
    workerId: text("worker_id"),
    idempotencyKey: text("idempotency_key"),
    progressFraction: real("progress_fraction"),
    progressMessage: text("progress_message"),
    result: text("result"),
    error: text("error"),
    createdBy: text("created_by"),
    /** The job whose completion spawned this one (the previous stage), if any. */
    parentId: integer("parent_id"),
    /** Concurrency group (a download's host): a queue's per-group limit caps leased jobs per group. */
    groupKey: text("group_key"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
  },
  (t) => [
    // The claim index: only queued jobs are in it, so its size is the backlog, and a
    // claim is one descent per (type, queue) pair however many jobs have finished.
    index("jobs_claim_idx")
      .on(t.type, t.queue, sql`${t.priority} DESC`, t.runAfter, t.id)
      .where(sql`status = 'queued'`),
    // The reaper's index: leased jobs by expiry.
    index("jobs_lease_expiry_idx").on(t.leaseExpiresAt).where(sql`status = 'leased'`),
    index("jobs_worker_idx").on(t.workerId).where(sql`status = 'leased'`),
    // Leased jobs per queue and group: what a limited queue's claim counts against its caps.
    index("jobs_leased_group_idx").on(t.queue, t.groupKey).where(sql`status = 'leased'`),
    uniqueIndex("jobs_idempotency_key_idx").on(t.idempotencyKey),
    index("jobs_queue_status_finished_idx").on(t.queue, t.status, t.finishedAt),
    index("jobs_type_status_idx").on(t.type, t.status),
  ],
);

export const jobEvents = sqliteTable(
  "job_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    jobId: integer("job_id").notNull(),
    at: integer("at").notNull(),
    kind: text("kind").notNull(),
    attempt: integer("attempt").notNull(),
    workerId: text("worker_id"),
    data: text("data"),
  },
  (t) => [index("job_events_job_idx").on(t.jobId, t.id)],
);

export const jobLogs = sqliteTable(
  "job_logs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    jobId: integer("job_id").notNull(),
    attempt: integer("attempt").notNull(),
    at: integer("at").notNull(),
    line: text("line").notNull(),
  },
  (t) => [index("job_logs_job_idx").on(t.jobId, t.id)],
);

export const workers = sqliteTable("workers", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  labels: text("labels").notNull(),
  types: text("types").notNull(),
  concurrency: integer("concurrency").notNull(),
  version: text("version").notNull(),
  host: text("host").notNull(),
  tokenId: text("token_id").notNull(),
  registeredAt: integer("registered_at").notNull(),
  lastSeenAt: integer("last_seen_at").notNull(),
  /** Set when the worker said bye. */
  goneAt: integer("gone_at"),
});

export const tokens = sqliteTable("tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  role: text("role", { enum: ["admin", "submitter", "worker", "reader"] }).notNull(),
  user: text("user").notNull(),
  /** sha256 of the secret part, hex. The secret itself is never stored. */
  secretHash: text("secret_hash").notNull(),
  createdAt: integer("created_at").notNull(),
  lastUsedAt: integer("last_used_at"),
  revokedAt: integer("revoked_at"),
});

export const queues = sqliteTable("queues", {
  name: text("name").primaryKey(),
  paused: integer("paused", { mode: "boolean" }).notNull().default(false),
  /** A timed pause ends at this time; null with paused = until resumed. */
  pausedUntil: integer("paused_until"),
  /** Most of this queue's jobs leased at once across all workers; null = no limit. */
  concurrency: integer("concurrency"),
  /** Most jobs of one group (e.g. one host) leased at once; null = no limit. */
  groupConcurrency: integer("group_concurrency"),
  updatedAt: integer("updated_at").notNull(),
});

/** Small key/value facts the coordinator keeps (schema-independent counters, etc.). */
export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

/**
 * Named counts reported with successful completions (`jobs` counts the completions
 * themselves), added up per worker name and job type in the completing transaction: the
 * leaderboard reads them without scanning jobs.
 */
export const jobCounters = sqliteTable(
  "job_counters",
  {
    workerName: text("worker_name").notNull(),
    type: text("type").notNull(),
    name: text("name").notNull(),
    value: integer("value").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workerName, t.type, t.name] })],
);

/** Named id sequences (crawl sample ids): `next` is the first id not yet handed out. */
export const sequences = sqliteTable("sequences", {
  name: text("name").primaryKey(),
  next: integer("next").notNull(),
});

/**
 * Rolling-window statistics: what settled jobs reported (succeeded, failed, retried, bytes,
 * http.200 …), added up per 10-second bucket, queue and owner in the settling transaction.
 * Buckets older than a day are pruned.
 */
export const jobStats = sqliteTable(
  "job_stats",
  {
    bucket: integer("bucket").notNull(),
    queue: text("queue").notNull(),
    user: text("user").notNull(),
    name: text("name").notNull(),
    value: integer("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.queue, t.bucket, t.user, t.name] })],
);

/**
 * django-crunch's model: projects hold datasets, datasets hold a tree of items, items carry
 * typed attributes. A dataset's slug is unique across projects: the hub and the DSX Hub API
 * name a dataset by its slug alone.
 */
export const projects = sqliteTable("projects", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  description: text("description").notNull().default(""),
  /** Storage URL under which datasets live by default (`<root>/<project>/<dataset>/`). */
  storageRoot: text("storage_root").notNull(),
  workflowKind: text("workflow_kind", { enum: ["bash", "snakemake"] }).notNull(),
  /** The bash script, or the Snakefile, run in each dataset's work dir. */
  workflow: text("workflow").notNull(),
  visibility: text("visibility", { enum: ["private", "public"] }).notNull(),
  owner: text("owner").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const datasets = sqliteTable(
  "datasets",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id),
    slug: text("slug").notNull().unique(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    /** Storage URL of the dataset's files, ending in "/". */
    storagePrefix: text("storage_prefix").notNull(),
    visibility: text("visibility", { enum: ["private", "public"] }).notNull(),
    owner: text("owner").notNull(),
    /**
     * The job of its latest run; null = never run. The dataset's status is derived from that
     * job's status when read, so it can never disagree with the lease engine (a job failed
     * by the reaper makes its dataset failed without any dataset code running).
     */
    jobId: integer("job_id"),
    /** When the manifest was last recomputed; null = never. */
    manifestAt: integer("manifest_at"),
    /** The manifest's totals, kept with it so listings need not count files. */
    fileCount: integer("file_count").notNull().default(0),
    byteCount: integer("byte_count").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("datasets_project_idx").on(t.projectId, t.slug)],
);

/** Items form a tree per dataset; a slug is the path from the root, `parent:child`. */
export const items = sqliteTable(
  "items",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    datasetId: integer("dataset_id")
      .notNull()
      .references(() => datasets.id),
    slug: text("slug").notNull(),
    parentId: integer("parent_id"),
    name: text("name").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("items_dataset_slug_idx").on(t.datasetId, t.slug)],
);

/** One typed value per item and key; `value` is the normalized value as JSON. */
export const itemAttributes = sqliteTable(
  "item_attributes",
  {
    itemId: integer("item_id")
      .notNull()
      .references(() => items.id),
    key: text("key").notNull(),
    type: text("type").notNull(),
    value: text("value").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.itemId, t.key] })],
);

/** A dataset's manifest: one row per file, recomputed after each upload. */
export const datasetFiles = sqliteTable(
  "dataset_files",
  {
    datasetId: integer("dataset_id")
      .notNull()
      .references(() => datasets.id),
    path: text("path").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    modified: integer("modified").notNull(),
  },
  (t) => [primaryKey({ columns: [t.datasetId, t.path] })],
);

/** One attempt of a dataset's workflow job: a lease on the dataset, with its stage records. */
export const datasetRuns = sqliteTable(
  "dataset_runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    datasetId: integer("dataset_id")
      .notNull()
      .references(() => datasets.id),
    jobId: integer("job_id").notNull(),
    attempt: integer("attempt").notNull(),
    workerId: text("worker_id").notNull(),
    /** running until the job's run says otherwise; readers show a run whose lease ended as abandoned. */
    state: text("state", { enum: ["running", "succeeded", "failed"] }).notNull(),
    startedAt: integer("started_at").notNull(),
    endedAt: integer("ended_at"),
    note: text("note"),
    /** JSON: host, OS, cores, memory, disk, versions. */
    diagnostics: text("diagnostics"),
    /** JSON arrays of relative paths. */
    uploaded: text("uploaded").notNull().default("[]"),
    deleted: text("deleted").notNull().default("[]"),
  },
  (t) => [uniqueIndex("dataset_runs_job_attempt_idx").on(t.jobId, t.attempt), index("dataset_runs_dataset_idx").on(t.datasetId, t.id)],
);

/** Stage × state records of a run (setup, workflow, upload × start, success, fail). */
export const datasetRunStages = sqliteTable(
  "dataset_run_stages",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    runId: integer("run_id")
      .notNull()
      .references(() => datasetRuns.id),
    stage: text("stage", { enum: ["setup", "workflow", "upload"] }).notNull(),
    state: text("state", { enum: ["start", "success", "fail"] }).notNull(),
    at: integer("at").notNull(),
    note: text("note"),
  },
  (t) => [index("dataset_run_stages_run_idx").on(t.runId, t.id)],
);
