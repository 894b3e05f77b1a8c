import { ATTRIBUTE_TYPES, formatAttributeValue, type AttributeType, type Item } from "@drover/protocol";
import { Command, InvalidArgumentError, Option } from "commander";
import { uploadDir } from "@drover/storage";
import cliProgress from "cli-progress";
import { readFileSync } from "node:fs";
import { clientFrom, withClientOptions } from "../client-options.ts";
import { action } from "../fail.ts";
import { printJson, printTable, when } from "../output.ts";
import { collect, parseIntArg } from "../parse.ts";

/** `key=value`, repeatable. */
function parseAttr(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`attribute must look like key=value, got '${value}'`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function attributesText(item: Item): string {
  return Object.entries(item.attributes)
    .map(([k, a]) => `${k}=${formatAttributeValue(a.type, a.value)}`)
    .join(" ");
}

/** django-crunch's projects: a storage root and the workflow each dataset runs. */
export function projectsCommand(): Command {
  const projects = new Command("projects").description("projects: a storage root and the workflow their datasets run");
  withClientOptions(projects.command("add <slug>"))
    .description("add a project")
    .requiredOption("--storage-root <url>", "storage URL under which its datasets live (<root>/<project>/<dataset>/)")
    .option("--workflow <file>", "the workflow: a bash script, or a Snakefile with --snakemake")
    .option("--script <text>", "the workflow as a bash script given inline")
    .option("--snakemake", "the workflow is a Snakefile (run with snakemake --cores N)", false)
    .option("--name <name>", "display name (default: the slug)")
    .option("--description <text>", "description", "")
    .option("--public", "readable by every token (default: private)", false)
    .action(
      action(async (slug: string, o) => {
        if ((o.workflow === undefined) === (o.script === undefined)) throw new InvalidArgumentError("give the workflow as --workflow <file> or --script <text>");
        const script = o.workflow !== undefined ? readFileSync(o.workflow, "utf8") : (o.script as string);
        const project = await clientFrom(o).projects.add.mutate({
          slug,
          storageRoot: o.storageRoot,
          workflow: { kind: o.snakemake ? "snakemake" : "bash", script },
          description: o.description,
          visibility: o.public ? "public" : "private",
          ...(o.name ? { name: o.name } : {}),
        });
        if (o.json) return printJson(project);
        console.log(`project ${project.slug} (${project.visibility}): datasets under ${project.storageRoot}`);
      }),
    );
  withClientOptions(projects.command("list"))
    .description("projects you can see")
    .action(
      action(async (o) => {
        const list = await clientFrom(o).projects.list.query();
        if (o.json) return printJson(list);
        printTable(list.map((p) => ({ slug: p.slug, name: p.name, owner: p.owner, visibility: p.visibility, workflow: p.workflow.kind, datasets: p.datasets, root: p.storageRoot })));
      }),
    );
  return projects;
}

export function datasetsCommand(): Command {
  const datasets = new Command("datasets").description("datasets: files in storage, a manifest, a tree of items, a status from their runs");
  withClientOptions(datasets.command("add <project> <slug>"))
    .description("add a dataset to a project (dataset slugs are unique across projects)")
    .option("--storage-prefix <url>", "where its files are (default <root>/<project>/<dataset>/)")
    .option("--name <name>", "display name (default: the slug)")
    .option("--description <text>", "description", "")
    .addOption(new Option("--visibility <v>", "private or public (default: the project's)").choices(["private", "public"]))
    .action(
      action(async (project: string, slug: string, o) => {
        const ds = await clientFrom(o).datasets.add.mutate({
          project,
          slug,
          description: o.description,
          ...(o.storagePrefix ? { storagePrefix: o.storagePrefix } : {}),
          ...(o.name ? { name: o.name } : {}),
          ...(o.visibility ? { visibility: o.visibility as "private" | "public" } : {}),
        });
        if (o.json) return printJson(ds);
        console.log(`dataset ${ds.slug} in ${ds.project}: files at ${ds.storagePrefix}`);
      }),
    );
  withClientOptions(datasets.command("list"))
    .description("datasets you can see")
    .option("--project <slug>", "one project's")
    .addOption(new Option("--status <s>", "only this status").choices(["unprocessed", "running", "completed", "failed"]))
    .action(
      action(async (o) => {
        const list = await clientFrom(o).datasets.list.query({ ...(o.project ? { project: o.project } : {}), ...(o.status ? { status: o.status } : {}) });
        if (o.json) return printJson(list);
        printTable(list.map((d) => ({ slug: d.slug, project: d.project, status: d.status, files: d.files, bytes: d.bytes, visibility: d.visibility, owner: d.owner })));
      }),
    );
  withClientOptions(datasets.command("show <slug>"))
    .description("one dataset and its items")
    .action(
      action(async (slug: string, o) => {
        const client = clientFrom(o);
        const [ds, items] = await Promise.all([client.datasets.get.query({ dataset: slug }), client.items.list.query({ dataset: slug, limit: 1000 })]);
        if (o.json) return printJson({ ...ds, items: items.items });
        printTable([{ slug: ds.slug, project: ds.project, status: ds.status, files: ds.files, bytes: ds.bytes, manifest: when(ds.manifestAt), prefix: ds.storagePrefix }]);
        console.log("");
        printTable(items.items.map((i) => ({ item: i.slug, name: i.name, attributes: attributesText(i) })));
        if (items.nextCursor !== null) console.log("(more items: drover items list with --cursor)");
      }),
    );
  withClientOptions(datasets.command("upload <slug> <dir>"))
    .description("copy a local directory to the dataset's storage (unchanged files skipped), then refresh its manifest")
    .option("--concurrency <n>", "files at once", (v) => Number(v), 8)
    .action(
      action(async (slug: string, dir: string, o) => {
        const client = clientFrom(o);
        const ds = await client.datasets.get.query({ dataset: slug });
        const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: "upload {bar} {value}/{total} files", stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
        bar?.start(0, 0);
        const sent = await uploadDir(dir, ds.storagePrefix, {
          concurrency: o.concurrency,
          onProgress: (p) => {
            bar?.setTotal(p.filesTotal);
            bar?.update(p.filesDone);
          },
        });
        bar?.stop();
        const refreshed = await client.datasets.refreshManifest.mutate({ dataset: slug });
        if (o.json) return printJson({ upload: sent, manifest: refreshed });
        console.log(
          `${sent.files} files uploaded (${sent.bytes} bytes), ${sent.skipped} unchanged; manifest: ${refreshed.dataset.files} files, ` +
            `${refreshed.added} added, ${refreshed.changed} changed, ${refreshed.removed.length} removed`,
        );
      }),
    );
  withClientOptions(datasets.command("run"))
    .description("queue a workflow run for every unprocessed dataset (of a project, or those named); workers with --project P run them")
    .option("--project <slug>", "one project's datasets")
    .option("--dataset <slugs>", "only these datasets (repeatable, comma-separated)", collect)
    .option("--retry-failed", "queue failed datasets again too", false)
    .option("--rerun", "queue completed datasets again too", false)
    .option("--cores <n>", "cores the workflow may use (default: the worker's)", parseIntArg("cores"))
    .option("--priority <n>", "job priority", (v) => Number(v), 0)
    .option("--lease-seconds <n>", "lease length: how soon a dead worker's dataset goes back to the queue (default 300)", parseIntArg("lease-seconds"))
    .option("--max-attempts <n>", "attempts before the dataset is failed (default 3; a workflow that exits non-zero fails at once)", parseIntArg("max-attempts"))
    .action(
      action(async (o) => {
        const out = await clientFrom(o).datasets.run.mutate({
          ...(o.leaseSeconds !== undefined ? { leaseSeconds: o.leaseSeconds } : {}),
          ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}),
          ...(o.project ? { project: o.project } : {}),
          ...(o.dataset ? { datasets: o.dataset } : {}),
          retryFailed: o.retryFailed,
          rerunCompleted: o.rerun,
          priority: o.priority,
          ...(o.cores !== undefined ? { cores: o.cores } : {}),
        });
        if (o.json) return printJson(out);
        printTable([...out.queued.map((q) => ({ dataset: q.dataset, job: q.jobId, action: "queued" })), ...out.skipped.map((s) => ({ dataset: s.dataset, job: "", action: `skipped (${s.status})` }))]);
        console.log(`${out.queued.length} queued, ${out.skipped.length} skipped`);
      }),
    );
  withClientOptions(datasets.command("runs <slug>"))
    .description("a dataset's runs, newest first: stages, states, notes, the worker's diagnostics")
    .option("--limit <n>", "runs to show", parseIntArg("limit"), 20)
    .action(
      action(async (slug: string, o) => {
        const runs = await clientFrom(o).datasets.runs.query({ dataset: slug, limit: o.limit });
        if (o.json) return printJson(runs);
        for (const r of runs) {
          const d = r.diagnostics;
          console.log(`run ${r.id}  job ${r.jobId} attempt ${r.attempt}  ${r.state}  started ${when(r.startedAt)}${r.endedAt ? `  ended ${when(r.endedAt)}` : ""}`);
          if (d) console.log(`  worker ${r.workerId} on ${d.host} (${d.os}, ${d.cores} cores, ${Math.round(d.memoryBytes / 2 ** 20)} MiB)`);
          console.log(`  stages: ${r.stages.map((s) => `${s.stage}:${s.state}`).join(" → ") || "(none)"}`);
          if (r.state === "succeeded") console.log(`  uploaded ${r.uploaded.length}, deleted ${r.deleted.length}${r.deleted.length ? ` (${r.deleted.slice(0, 10).join(", ")}${r.deleted.length > 10 ? ", …" : ""})` : ""}`);
          if (r.note) console.log(`  note: ${r.note.trim().split("\n").slice(-10).join("\n        ")}`);
        }
        if (runs.length === 0) console.log("no runs yet");
      }),
    );
  withClientOptions(datasets.command("files <slug>"))
    .description("the dataset's manifest: path, size, sha256, modified")
    .option("--limit <n>", "page size", (v) => Number(v), 10_000)
    .option("--cursor <path>", "the previous page's next cursor")
    .action(
      action(async (slug: string, o) => {
        const page = await clientFrom(o).datasets.files.query({ dataset: slug, limit: o.limit, ...(o.cursor ? { cursor: o.cursor } : {}) });
        if (o.json) return printJson(page);
        printTable(page.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, modified: when(f.modified) })));
        if (page.nextCursor !== null) console.log(`(next page: --cursor ${JSON.stringify(page.nextCursor)})`);
      }),
    );
  return datasets;
}

export function itemsCommand(): Command {
  const items = new Command("items").description("a dataset's tree of items (slugs parent:child)");
  withClientOptions(items.command("add <dataset> <slug>"))
    .description("add an item; parent:child adds a child of an existing item")
    .option("--name <name>", "display name (default: the slug's last part)")
    .option("--attr <key=value>", "an attribute, its type inferred (repeatable)", parseAttr)
    .action(
      action(async (dataset: string, slug: string, o) => {
        const item = await clientFrom(o).items.add.mutate({ dataset, slug, ...(o.name ? { name: o.name } : {}), ...(o.attr ? { attributes: o.attr } : {}) });
        if (o.json) return printJson(item);
        console.log(`item ${item.slug}${Object.keys(item.attributes).length ? `: ${attributesText(item)}` : ""}`);
      }),
    );
  withClientOptions(items.command("list <dataset>"))
    .description("items with their attributes, in the order they were added")
    .option("--parent <slug>", "only this item's children")
    .option("--limit <n>", "page size", (v) => Number(v), 1000)
    .option("--cursor <n>", "the previous page's next cursor", (v) => Number(v))
    .action(
      action(async (dataset: string, o) => {
        const page = await clientFrom(o).items.list.query({ dataset, limit: o.limit, ...(o.parent ? { parent: o.parent } : {}), ...(o.cursor !== undefined ? { cursor: o.cursor } : {}) });
        if (o.json) return printJson(page);
        printTable(page.items.map((i) => ({ item: i.slug, name: i.name, attributes: attributesText(i) })));
        if (page.nextCursor !== null) console.log(`(next page: --cursor ${page.nextCursor})`);
      }),
    );
  return items;
}

export function attributesCommand(): Command {
  const attributes = new Command("attributes").description("typed attributes of items");
  withClientOptions(attributes.command("add <dataset> <item> <key> <value>"))
    .description(`set an attribute; without --type, the key's type on the item, else one inferred (${ATTRIBUTE_TYPES.join(", ")})`)
    .addOption(new Option("--type <type>", "the attribute's type").choices([...ATTRIBUTE_TYPES]))
    .action(
      action(async (dataset: string, item: string, key: string, value: string, o) => {
        const out = await clientFrom(o).items.setAttribute.mutate({ dataset, item, key, value, ...(o.type ? { type: o.type as AttributeType } : {}) });
        if (o.json) return printJson(out);
        const a = out.attributes[key]!;
        console.log(`${out.slug}: ${key} = ${formatAttributeValue(a.type, a.value)} (${a.type})`);
      }),
    );
  return attributes;
}
