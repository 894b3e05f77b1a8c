import { z } from "zod";
import { AttributeType } from "../attributes.ts";
import { EpochMs } from "./common.ts";

/** Project and dataset slugs: one URL path segment, so the hub can name a dataset by it. */
export const Slug = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "must be lower-case letters, digits, - and _, starting with a letter or digit");

/** An item's slug is its path in the dataset's tree: `parent:child:grandchild`. */
export const ItemSlug = z
  .string()
  .min(1)
  .max(1000)
  .regex(/^[a-z0-9][a-z0-9_-]*(:[a-z0-9][a-z0-9_-]*)*$/, "must be slugs joined by ':' (parent:child), each lower-case letters, digits, - and _");

export const AttributeKey = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "must start with a letter or _ and hold letters, digits, _ . -");

const StorageUrl = z.string().min(1).max(4096);
export const Visibility = z.enum(["private", "public"]);
export const DatasetStatus = z.enum(["unprocessed", "running", "completed", "failed"]);

export const Workflow = z.strictObject({
  /** bash: a script run with `bash`; snakemake: a Snakefile run with `snakemake --cores N`. */
  kind: z.enum(["bash", "snakemake"]),
  script: z.string().min(1).max(1_000_000),
});

export const ProjectAddInput = z.strictObject({
  slug: Slug,
  /** Default: the slug. */
  name: z.string().min(1).max(200).optional(),
  description: z.string().max(10_000).default(""),
  /** Storage URL under which each dataset's files live by default: `<root>/<project>/<dataset>/`. */
  storageRoot: StorageUrl,
  workflow: Workflow,
  visibility: Visibility.default("private"),
});

export const Project = z.object({
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  storageRoot: z.string(),
  workflow: z.object({ kind: z.enum(["bash", "snakemake"]), script: z.string() }),
  visibility: Visibility,
  owner: z.string(),
  datasets: z.number(),
  createdAt: EpochMs,
  updatedAt: EpochMs,
});
export type Project = z.infer<typeof Project>;

export const ProjectInput = z.strictObject({ project: Slug });

export const DatasetAddInput = z.strictObject({
  project: Slug,
  slug: Slug,
  /** Default: the slug. */
  name: z.string().min(1).max(200).optional(),
  description: z.string().max(10_000).default(""),
  /** Default `<project's storageRoot>/<project>/<dataset>/`. */
  storagePrefix: StorageUrl.optional(),
  /** Default: the project's. */
  visibility: Visibility.optional(),
});

export const Dataset = z.object({
  slug: z.string(),
  project: z.string(),
  name: z.string(),
  description: z.string(),
  storagePrefix: z.string(),
  visibility: Visibility,
  owner: z.string(),
  /** From its latest run's job: none → unprocessed; queued or leased → running; succeeded → completed; failed or cancelled → failed. */
  status: DatasetStatus,
  /** The latest run's job, if any. */
  jobId: z.number().nullable(),
  /** Files and bytes in the manifest. */
  files: z.number(),
  bytes: z.number(),
  manifestAt: EpochMs.nullable(),
  createdAt: EpochMs,
  updatedAt: EpochMs,
});
export type Dataset = z.infer<typeof Dataset>;

export const DatasetListInput = z.strictObject({ project: Slug.optional(), status: DatasetStatus.optional() });
export const DatasetInput = z.strictObject({ dataset: Slug });

/** A stored attribute: its type and normalized value (see attributes.ts). */
export const AttributeOut = z.object({
  type: AttributeType,
  value: z.union([z.string(), z.number(), z.boolean(), z.object({ lat: z.number(), lng: z.number() })]),
});

export const ItemAddInput = z.strictObject({
  dataset: Slug,
  /** `parent:child` adds a child of the existing item `parent`. */
  slug: ItemSlug,
  /** Default: the last part of the slug. */
  name: z.string().min(1).max(200).optional(),
  /** Values whose types are inferred; `attributes.set` names a type explicitly. */
  attributes: z.record(AttributeKey, z.unknown()).optional(),
});

export const Item = z.object({
  slug: z.string(),
  parent: z.string().nullable(),
  name: z.string(),
  attributes: z.record(z.string(), AttributeOut),
  createdAt: EpochMs,
});
export type Item = z.infer<typeof Item>;

export const ItemListInput = z.strictObject({
  dataset: Slug,
  /** Only the children of this item; omit for the whole tree. */
  parent: ItemSlug.optional(),
  limit: z.number().int().min(1).max(10_000).default(1000),
  /** `nextCursor` of the previous page. */
  cursor: z.number().int().nonnegative().optional(),
});
export const ItemListOutput = z.object({ items: z.array(Item), nextCursor: z.number().nullable() });
export type ItemListOutput = z.infer<typeof ItemListOutput>;

export const AttributeSetInput = z.strictObject({
  dataset: Slug,
  item: ItemSlug,
  key: AttributeKey,
  value: z.unknown(),
  /** Omit to keep the key's type on this item, or to infer one for a new key. */
  type: AttributeType.optional(),
});

/** One file of a dataset's manifest. */
export const DatasetFile = z.object({
  /** Relative to the dataset's storage prefix. */
  path: z.string(),
  size: z.number(),
  sha256: z.string(),
  modified: EpochMs,
});
export type DatasetFile = z.infer<typeof DatasetFile>;

export const DatasetFilesInput = z.strictObject({
  dataset: Slug,
  /** Page size, default 10,000. */
  limit: z.number().int().min(1).max(100_000).default(10_000),
  /** `nextCursor` of the previous page: files whose path sorts after it follow. */
  cursor: z.string().max(4096).optional(),
});
export const DatasetFilesOutput = z.object({ files: z.array(DatasetFile), nextCursor: z.string().nullable() });
export type DatasetFilesOutput = z.infer<typeof DatasetFilesOutput>;

export const ManifestRefreshOutput = z.object({
  dataset: Dataset,
  added: z.number(),
  changed: z.number(),
  removed: z.array(z.string()),
});
export type ManifestRefreshOutput = z.infer<typeof ManifestRefreshOutput>;
