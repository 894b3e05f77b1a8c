import { DatasetHubClient } from "@drover/sdk";
import { Command, Option } from "commander";
import cliProgress from "cli-progress";
import { copyFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { action } from "../fail.ts";
import { printJson, printTable, when } from "../output.ts";
import { parseIntArg } from "../parse.ts";

function defaultCacheDir(): string {
  return join(process.env["XDG_CACHE_HOME"] || join(homedir(), ".cache"), "drover", "hub");
}

/** --url, --token (optional: public datasets need none), --cache-dir, --json. */
function withHubOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--url <url>", "coordinator URL").env("DROVER_URL").default("http://127.0.0.1:7400"))
    .addOption(new Option("--token <token>", "API token (omit for public datasets)").env("DROVER_TOKEN"))
    .addOption(new Option("--cache-dir <dir>", "where manifests and files are cached").env("DROVER_HUB_CACHE").default(defaultCacheDir()))
    .option("--json", "print JSON instead of a table", false);
}

function hubFrom(o: { url: string; token?: string; cacheDir: string }): DatasetHubClient {
  return new DatasetHubClient({ url: o.url, token: o.token, cacheDir: o.cacheDir });
}

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** DSX Hub's SDK from the shell: list, manifest, get one file, pull a dataset into the cache. */
export function hubCommand(): Command {
  const hub = new Command("hub").description("the dataset hub: list datasets, read manifests, download files into a verified local cache");
  withHubOptions(hub.command("ls"))
    .description("datasets you may read (public ones without a token)")
    .action(
      action(async (o) => {
        const list = await hubFrom(o).listDatasets();
        if (o.json) return printJson(list);
        printTable(list.map((d) => ({ dataset: d.slug, project: d.project, files: d.files, size: bytes(d.bytes), visibility: d.visibility, status: d.status, manifest: when(d.manifestAt) })));
      }),
    );
  withHubOptions(hub.command("manifest <dataset>"))
    .description("a dataset's manifest: path, size, sha256 (cached, revalidated with ETag)")
    .action(
      action(async (dataset: string, o) => {
        const m = await hubFrom(o).getManifest(dataset);
        if (o.json) return printJson(m);
        printTable(m.entries.map((e) => ({ path: e.path, size: e.size, sha256: e.sha256 })));
        console.log(`${m.files} files, ${bytes(m.bytes)}`);
      }),
    );
  withHubOptions(hub.command("get <dataset> <path>"))
    .description("download one file into the cache (verified by sha256, resumed if interrupted) and print its local path")
    .option("--out <file>", "also copy it here")
    .action(
      action(async (dataset: string, path: string, o) => {
        const local = await hubFrom(o).getFile(dataset, path);
        if (o.out) await copyFile(local, o.out);
        if (o.json) return printJson({ dataset, path, local, ...(o.out ? { out: o.out } : {}) });
        console.log(o.out ?? local);
      }),
    );
  withHubOptions(hub.command("pull <dataset>"))
    .description("download a dataset (or the files a glob matches) into the cache")
    .option("--filter <glob>", "only paths matching this glob, e.g. 'images/**/*.jpg'")
    .option("--concurrency <n>", "files at once", parseIntArg("concurrency"), 8)
    .action(
      action(async (dataset: string, o) => {
        const client = hubFrom(o);
        const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: "pull {bar} {value}/{total} files {size}", stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
        bar?.start(0, 0, { size: "" });
        const started = Date.now();
        let totalBytes = 0;
        const paths = await client.downloadDataset(dataset, {
          concurrency: o.concurrency,
          ...(o.filter ? { filter: o.filter as string } : {}),
          onProgress: (p) => {
            totalBytes = p.bytesTotal;
            bar?.setTotal(p.filesTotal);
            bar?.update(p.filesDone, { size: `${bytes(p.bytesDone)}/${bytes(p.bytesTotal)}` });
          },
        });
        bar?.stop();
        const seconds = (Date.now() - started) / 1000;
        if (o.json) return printJson({ dataset, files: paths.length, bytes: totalBytes, seconds, cacheDir: o.cacheDir });
        console.log(`${paths.length} files (${bytes(totalBytes)}) of ${dataset} in ${o.cacheDir}/${dataset} in ${seconds.toFixed(1)} s`);
      }),
    );
  withHubOptions(hub.command("cache [dataset]"))
    .description("the cache's size (of one dataset, or all); --clear empties it")
    .option("--clear", "remove the cached files, manifests and partial downloads", false)
    .action(
      action(async (dataset: string | undefined, o) => {
        const client = hubFrom(o);
        const size = o.clear ? await client.clearCache(dataset) : await client.getCacheSize(dataset);
        if (o.json) return printJson(o.clear ? { freed: size } : { size });
        console.log(o.clear ? `${bytes(size)} freed` : `${bytes(size)} in ${o.cacheDir}${dataset ? ` for ${dataset}` : ""}`);
      }),
    );
  return hub;
}
