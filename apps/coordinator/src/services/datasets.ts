import {
  DroverError,
  inferAttributeType,
  parseAttributeValue,
  type AttributeType,
  type AttributeValue,
  type Dataset,
  type DatasetFilesOutput,
  type DatasetsService,
  type ManifestRefreshOutput,
  type Item,
  type ItemListOutput,
  type Principal,
  type Project,
} from "@drover/protocol";
import { and, asc, count, eq, gt, inArray, type SQL } from "drizzle-orm";
import type { Db } from "../db/open.ts";
import { datasetFiles, datasets, itemAttributes, items, jobs, projects } from "../db/schema.ts";
import type { EngineState } from "../engine/state.ts";
import { DatasetRuns, type DatasetLookups, type RunnableDataset } from "./dataset-runs.ts";
import { readManifest, scanManifest, writeManifest } from "./manifest.ts";
import { ownerScope } from "./ownership.ts";

type ProjectRow = typeof projects.$inferSelect;
type DatasetRow = typeof datasets.$inferSelect & { projectSlug: string; status: Dataset["status"] };
type ItemRow = typeof items.$inferSelect;
type Owned = { owner: string; visibility: "private" | "public" };
type Input<K extends keyof DatasetsService> = Parameters<DatasetsService[K]>[1];

/**
 * Public, or the caller's own, or a caller who sees everyone's (admin, reader, worker).
 * `null` is a hub request without a token: public only.
 */
function visible(by: Principal | null, row: Owned): boolean {
  if (row.visibility === "public") return true;
  return by !== null && (ownerScope(by) === undefined || row.owner === by.user);
}

/** Only the owner or an admin changes a project, a dataset or its items. */
function assertMayChange(by: Principal, row: Owned, what: string): void {
  if (by.role !== "admin" && row.owner !== by.user) throw new DroverError("FORBIDDEN", `${what} belongs to another user`);
}

function joinStorage(root: string, ...parts: string[]): string {
  const q = root.indexOf("?");
  const [base, query] = q < 0 ? [root, ""] : [root.slice(0, q), root.slice(q)];
  return `${base.replace(/\/+$/, "")}/${parts.join("/")}/${query}`;
}

/** A dataset's status from its latest run's job. */
function statusOf(jobStatus: string | null | undefined): Dataset["status"] {
  switch (jobStatus) {
    case null:
    case undefined:
      return "unprocessed";
    case "queued":
    case "leased":
      return "running";
    case "succeeded":
      return "completed";
    default:
      return "failed";
  }
}

function uniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE" || (error as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/**
 * django-crunch's model over SQLite: projects → datasets → an item tree → typed attributes.
 * A private project or dataset is invisible (NOT_FOUND) to other submitters, as jobs are.
 */
export class DatasetsServiceImpl implements DatasetsService {
  private readonly stmts;
  private readonly db: Db;
  private readonly runs: DatasetRuns;

  constructor(state: EngineState) {
    this.db = state.db;
    const c = state.db.$client;
    this.stmts = {
      manifestRows: c.prepare(`SELECT path, size, sha256, modified FROM dataset_files WHERE dataset_id = ? ORDER BY path`),
      manifestFile: c.prepare(`SELECT size, sha256 FROM dataset_files WHERE dataset_id = ? AND path = ?`),
      fileTarget: c.prepare(`SELECT id, storage_prefix AS storagePrefix, visibility, owner FROM datasets WHERE slug = ?`),
      attributesOf: c.prepare(`SELECT key, type, value FROM item_attributes WHERE item_id = ? ORDER BY key`),
      upsertAttribute: c.prepare(
        `INSERT INTO item_attributes (item_id, key, type, value, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (item_id, key) DO UPDATE SET type = excluded.type, value = excluded.value, updated_at = excluded.updated_at`,
      ),
    };
    const lookups: DatasetLookups = {
      changeable: (by, project, slugs) => this.changeable(by, project, slugs),
      bySlug: (slug) => this.datasetRows(eq(datasets.slug, slug))[0],
      visibleId: (by, slug) => this.datasetRow(by, slug).id,
    };
    this.runs = new DatasetRuns(state, lookups);
  }

  // ---- projects

  private projectRow(by: Principal, slug: string): ProjectRow {
    const row = this.db.select().from(projects).where(eq(projects.slug, slug)).get();
    if (!row || !visible(by, row)) throw new DroverError("NOT_FOUND", `project '${slug}' does not exist`, { details: { field: "project" } });
    return row;
  }

  private project(row: ProjectRow): Project {
    return {
      slug: row.slug,
      name: row.name,
      description: row.description,
      storageRoot: row.storageRoot,
      workflow: { kind: row.workflowKind, script: row.workflow },
      visibility: row.visibility,
      owner: row.owner,
      datasets: this.db.select({ n: count() }).from(datasets).where(eq(datasets.projectId, row.id)).get()!.n,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  addProject(by: Principal, req: Input<"addProject">): Project {
    const now = Date.now();
    try {
      const row = this.db
        .insert(projects)
        .values({
          slug: req.slug,
          name: req.name ?? req.slug,
          description: req.description,
          storageRoot: req.storageRoot,
          workflowKind: req.workflow.kind,
          workflow: req.workflow.script,
          visibility: req.visibility,
          owner: by.user,
          createdAt: now,
          updatedAt: now,
        })
        .returning()
        .get();
      return this.project(row);
    } catch (error) {
      if (uniqueViolation(error)) throw new DroverError("ALREADY_EXISTS", `project '${req.slug}' exists already`, { details: { field: "slug" } });
      throw error;
    }
  }

  listProjects(by: Principal): Project[] {
    return this.db
      .select()
      .from(projects)
      .orderBy(projects.slug)
      .all()
      .filter((p) => visible(by, p))
      .map((p) => this.project(p));
  }

  getProject(by: Principal, slug: string): Project {
    return this.project(this.projectRow(by, slug));
  }

  // ---- datasets

  /** Datasets with their project's slug and their status, filtered by `where`. */
  private datasetRows(where: SQL | undefined): DatasetRow[] {
    return this.db
      .select({ dataset: datasets, projectSlug: projects.slug, jobStatus: jobs.status })
      .from(datasets)
      .innerJoin(projects, eq(projects.id, datasets.projectId))
      .leftJoin(jobs, eq(jobs.id, datasets.jobId))
      .where(where)
      .orderBy(asc(datasets.slug))
      .all()
      .map((r) => ({ ...r.dataset, projectSlug: r.projectSlug, status: statusOf(r.jobStatus) }));
  }

  private datasetRow(by: Principal, slug: string): DatasetRow {
    const row = this.datasetRows(eq(datasets.slug, slug))[0];
    if (!row || !visible(by, row)) throw new DroverError("NOT_FOUND", `dataset '${slug}' does not exist`, { details: { field: "dataset" } });
    return row;
  }

  private dataset(row: DatasetRow): Dataset {
    return {
      slug: row.slug,
      project: row.projectSlug,
      name: row.name,
      description: row.description,
      storagePrefix: row.storagePrefix,
      visibility: row.visibility,
      owner: row.owner,
      status: row.status,
      jobId: row.jobId,
      files: row.fileCount,
      bytes: row.byteCount,
      manifestAt: row.manifestAt,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  addDataset(by: Principal, req: Input<"addDataset">): Dataset {
    const project = this.projectRow(by, req.project);
    assertMayChange(by, project, `project '${project.slug}'`);
    const now = Date.now();
    try {
      const row = this.db
        .insert(datasets)
        .values({
          projectId: project.id,
          slug: req.slug,
          name: req.name ?? req.slug,
          description: req.description,
          storagePrefix: req.storagePrefix === undefined ? joinStorage(project.storageRoot, project.slug, req.slug) : req.storagePrefix.replace(/\/*(\?|$)/, "/$1"),
          visibility: req.visibility ?? project.visibility,
          owner: by.user,
          createdAt: now,
          updatedAt: now,
        })
        .returning()
        .get();
      return this.dataset({ ...row, projectSlug: project.slug, status: "unprocessed" });
    } catch (error) {
      if (uniqueViolation(error)) throw new DroverError("ALREADY_EXISTS", `dataset '${req.slug}' exists already (dataset slugs are unique across projects)`, { details: { field: "slug" } });
      throw error;
    }
  }

  listDatasets(by: Principal, q: Input<"listDatasets">): Dataset[] {
    const where: SQL[] = [];
    if (q.project !== undefined) where.push(eq(datasets.projectId, this.projectRow(by, q.project).id));
    return this.datasetRows(where.length ? and(...where) : undefined)
      .filter((d) => visible(by, d) && (q.status === undefined || d.status === q.status))
      .map((d) => this.dataset(d));
  }

  getDataset(by: Principal, slug: string): Dataset {
    return this.dataset(this.datasetRow(by, slug));
  }

  // ---- items and attributes

  private itemRow(datasetId: number, slug: string, field: string): ItemRow {
    const row = this.db.select().from(items).where(and(eq(items.datasetId, datasetId), eq(items.slug, slug))).get();
    if (!row) throw new DroverError("NOT_FOUND", `item '${slug}' does not exist`, { details: { field } });
    return row;
  }

  private item(row: ItemRow): Item {
    const attributes: Item["attributes"] = {};
    for (const a of this.stmts.attributesOf.all(row.id) as { key: string; type: AttributeType; value: string }[]) {
      attributes[a.key] = { type: a.type, value: JSON.parse(a.value) as AttributeValue };
    }
    const colon = row.slug.lastIndexOf(":");
    return { slug: row.slug, parent: colon < 0 ? null : row.slug.slice(0, colon), name: row.name, attributes, createdAt: row.createdAt };
  }

  /** Checks a value against `type` (or infers one), naming the field when it does not fit. */
  private typed(key: string, raw: unknown, type: AttributeType | undefined, field: string): { type: AttributeType; value: string } {
    const chosen = type ?? inferAttributeType(raw);
    const parsed = parseAttributeValue(chosen, raw);
    if (!parsed.ok) throw new DroverError("INVALID_INPUT", `${field}: attribute '${key}' (${chosen}): ${parsed.message}`, { details: { field } });
    return { type: chosen, value: JSON.stringify(parsed.value) };
  }

  addItem(by: Principal, req: Input<"addItem">): Item {
    // Values are checked first: bad input is refused as such, and a bad value adds nothing.
    const attributes = Object.entries(req.attributes ?? {}).map(([key, raw]) => ({ key, ...this.typed(key, raw, undefined, `attributes.${key}`) }));
    const dataset = this.datasetRow(by, req.dataset);
    assertMayChange(by, dataset, `dataset '${dataset.slug}'`);
    const colon = req.slug.lastIndexOf(":");
    const now = Date.now();
    return this.db.$client
      .transaction(() => {
        const parent = colon < 0 ? null : this.itemRow(dataset.id, req.slug.slice(0, colon), "slug");
        let row: ItemRow;
        try {
          row = this.db
            .insert(items)
            .values({ datasetId: dataset.id, slug: req.slug, parentId: parent?.id ?? null, name: req.name ?? req.slug.slice(colon + 1), createdAt: now })
            .returning()
            .get();
        } catch (error) {
          if (uniqueViolation(error)) throw new DroverError("ALREADY_EXISTS", `item '${req.slug}' exists already in dataset '${dataset.slug}'`, { details: { field: "slug" } });
          throw error;
        }
        for (const a of attributes) this.stmts.upsertAttribute.run(row.id, a.key, a.type, a.value, now);
        return this.item(row);
      })
      .immediate();
  }

  listItems(by: Principal, q: Input<"listItems">): ItemListOutput {
    const dataset = this.datasetRow(by, q.dataset);
    const where = [eq(items.datasetId, dataset.id), gt(items.id, q.cursor ?? 0)];
    if (q.parent !== undefined) where.push(eq(items.parentId, this.itemRow(dataset.id, q.parent, "parent").id));
    const rows = this.db.select().from(items).where(and(...where)).orderBy(asc(items.id)).limit(q.limit + 1).all();
    const page = rows.slice(0, q.limit);
    return { items: page.map((r) => this.item(r)), nextCursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
  }

  setAttribute(by: Principal, req: Input<"setAttribute">): Item {
    // With an explicit type the value is checked before anything is looked up.
    if (req.type !== undefined) this.typed(req.key, req.value, req.type, "value");
    const dataset = this.datasetRow(by, req.dataset);
    assertMayChange(by, dataset, `dataset '${dataset.slug}'`);
    return this.db.$client
      .transaction(() => {
        const item = this.itemRow(dataset.id, req.item, "item");
        // Without an explicit type, a key keeps the type it has on this item.
        const existing = this.db
          .select({ type: itemAttributes.type })
          .from(itemAttributes)
          .where(and(eq(itemAttributes.itemId, item.id), eq(itemAttributes.key, req.key)))
          .get();
        const { type, value } = this.typed(req.key, req.value, req.type ?? (existing?.type as AttributeType | undefined), "value");
        this.stmts.upsertAttribute.run(item.id, req.key, type, value, Date.now());
        return this.item(item);
      })
      .immediate();
  }

  // ---- the manifest

  files(by: Principal, q: Input<"files">): DatasetFilesOutput {
    return this.filePage(this.datasetRow(by, q.dataset).id, q.limit, q.cursor);
  }

  private filePage(datasetId: number, limit: number, cursor: string | undefined): DatasetFilesOutput {
    const where = [eq(datasetFiles.datasetId, datasetId)];
    if (cursor !== undefined) where.push(gt(datasetFiles.path, cursor));
    const rows = this.db
      .select({ path: datasetFiles.path, size: datasetFiles.size, sha256: datasetFiles.sha256, modified: datasetFiles.modified })
      .from(datasetFiles)
      .where(and(...where))
      .orderBy(asc(datasetFiles.path))
      .limit(limit + 1)
      .all();
    const page = rows.slice(0, limit);
    return { files: page, nextCursor: rows.length > limit ? page[page.length - 1]!.path : null };
  }

  async refreshManifest(by: Principal, slug: string, signal?: AbortSignal): Promise<ManifestRefreshOutput> {
    const dataset = this.datasetRow(by, slug);
    assertMayChange(by, dataset, `dataset '${dataset.slug}'`);
    const diff = await scanManifest(dataset.storagePrefix, readManifest(this.db.$client, dataset.id), signal);
    writeManifest(this.db.$client, dataset.id, diff, Date.now());
    return { dataset: this.getDataset(by, slug), added: diff.added, changed: diff.changed, removed: diff.removed };
  }

  // ---- runs

  /** Datasets the caller may change: the named ones (each checked), a project's, or all. */
  private changeable(by: Principal, project: string | undefined, slugs: string[] | undefined): RunnableDataset[] {
    if (slugs !== undefined) {
      return slugs.map((slug, i) => {
        const row = this.datasetRows(eq(datasets.slug, slug))[0];
        if (!row || !visible(by, row)) throw new DroverError("NOT_FOUND", `datasets.${i}: dataset '${slug}' does not exist`, { details: { field: `datasets.${i}` } });
        if (project !== undefined && row.projectSlug !== project) {
          throw new DroverError("INVALID_INPUT", `datasets.${i}: dataset '${slug}' belongs to project '${row.projectSlug}', not '${project}'`, { details: { field: `datasets.${i}` } });
        }
        assertMayChange(by, row, `dataset '${slug}'`);
        return row;
      });
    }
    const where = project === undefined ? undefined : inArray(datasets.projectId, [this.projectRow(by, project).id]);
    return this.datasetRows(where).filter((d) => by.role === "admin" || d.owner === by.user);
  }

  queueRuns(by: Principal, req: Input<"queueRuns">) {
    return this.runs.queue(by, req);
  }

  listRuns(by: Principal, req: Input<"listRuns">) {
    return this.runs.list(by, req);
  }

  async workflowStart(_by: Principal, req: Input<"workflowStart">) {
    const { runId, dataset } = await this.runs.start(req);
    const row = this.datasetRows(eq(datasets.id, dataset.id))[0]!;
    const project = this.db.select().from(projects).where(eq(projects.slug, row.projectSlug)).get()!;
    return { runId, dataset: this.dataset(row), project: this.project(project) };
  }

  workflowStage(_by: Principal, req: Input<"workflowStage">) {
    return this.runs.stage(req);
  }

  workflowFiles(_by: Principal, req: Input<"workflowFiles">): DatasetFilesOutput {
    const dataset = this.runs.datasetOf(req.lease);
    return this.filePage(dataset.id, req.limit, req.cursor);
  }

  workflowFinish(_by: Principal, req: Input<"workflowFinish">, signal?: AbortSignal) {
    return this.runs.finish(req, signal);
  }

  // ---- for the hub routes (coordinator-only: they may be called without a token)

  /** Datasets `by` may read; without a token, the public ones. */
  hubDatasets(by: Principal | null): Dataset[] {
    return this.datasetRows(undefined)
      .filter((d) => visible(by, d))
      .map((d) => this.dataset(d));
  }

  /** One dataset `by` may read, with its row id; NOT_FOUND otherwise. */
  hubDataset(by: Principal | null, slug: string): { id: number; dataset: Dataset } {
    const row = this.datasetRows(eq(datasets.slug, slug))[0];
    if (!row || !visible(by, row)) throw new DroverError("NOT_FOUND", `dataset '${slug}' does not exist`, { details: { field: "dataset" } });
    return { id: row.id, dataset: this.dataset(row) };
  }

  /** A readable dataset's id, storage prefix and visibility; undefined when `by` may not read it. */
  hubFileTarget(by: Principal | null, slug: string): { id: number; storagePrefix: string; visibility: "private" | "public" } | undefined {
    const row = this.stmts.fileTarget.get(slug) as { id: number; storagePrefix: string; visibility: "private" | "public"; owner: string } | undefined;
    return row && visible(by, row) ? row : undefined;
  }

  /** The whole manifest in path order, as stored: for one JSON body. */
  manifestRows(datasetId: number): { path: string; size: number; sha256: string; modified: number }[] {
    return this.stmts.manifestRows.all(datasetId) as { path: string; size: number; sha256: string; modified: number }[];
  }

  manifestFile(datasetId: number, path: string): { size: number; sha256: string } | undefined {
    return this.stmts.manifestFile.get(datasetId, path) as { size: number; sha256: string } | undefined;
  }
}
