import { Command, InvalidArgumentError } from "commander";
import cliProgress from "cli-progress";
import type { QueueStats } from "@drover/protocol";
import { clientFrom, withClientOptions } from "../client-options.ts";
import { addDownloadList, DEFAULT_DOWNLOAD_QUEUE, downloadJob, type DownloadOptions } from "../download/submit.ts";
import { action } from "../fail.ts";
import { printJson, printTable, when } from "../output.ts";
import { parseIntArg } from "../parse.ts";

function parseHeader(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const colon = value.indexOf(":");
  if (colon <= 0) throw new InvalidArgumentError(`header must look like 'Name: value', got '${value}'`);
  return { ...previous, [value.slice(0, colon).trim()]: value.slice(colon + 1).trim() };
}

const withQueue = (cmd: Command) => withClientOptions(cmd).option("--queue <queue>", "the downloads' queue", DEFAULT_DOWNLOAD_QUEUE);

/**
 * `drover download …`: AUTODL's verbs as thin uses of the generic procedures. Every
 * download is a `download.url` job in one queue (default `downloads`).
 */
export function downloadCommand(): Command {
  const download = new Command("download").description("download URLs to storage through the fleet (AUTODL's verbs)");

  withQueue(download.command("add [url] [dest]"))
    .description("queue downloads: one URL, or a list with --file (one URL per line, or CSV url,dest,sha256)")
    .option("--file <path>", "a URL list instead of one URL")
    .option("--dest <url>", "storage URL of the destination folder (ends with /) or file, as the worker sees it", "downloads/")
    .option("--sha256 <hex>", "expected sha256 (one URL)")
    .option("--size <bytes>", "expected size (one URL)", parseIntArg("size"))
    .option("--max-bytes <n>", "refuse bodies larger than this", parseIntArg("max-bytes"))
    .option("--unique-name", "add ' (1)', ' (2)' … instead of overwriting a file of the same name", false)
    .option("--header <h>", "extra request header 'Name: value' (repeatable)", parseHeader)
    .option("--priority <n>", "job priority", parseIntArg("priority"))
    .option("--idempotent", "key each job by queue, URL and destination: adding the same list again adds nothing", false)
    .action(
      action(async (url: string | undefined, dest: string | undefined, o) => {
        if ((url === undefined) === (o.file === undefined)) throw new InvalidArgumentError("give either a URL or --file <path>");
        const options: DownloadOptions = {
          dest: dest ?? o.dest,
          queue: o.queue,
          priority: o.priority,
          maxBytes: o.maxBytes,
          uniqueName: o.uniqueName,
          headers: o.header,
          idempotent: o.idempotent,
        };
        const client = clientFrom(o);
        if (url !== undefined) {
          const result = await client.jobs.submit.mutate(downloadJob({ url }, { ...options, sha256: o.sha256, size: o.size }));
          if (o.json) return printJson(result);
          return console.log(result.deduplicated ? `already queued as job ${result.id}` : `queued job ${result.id}`);
        }
        if (o.sha256 || o.size !== undefined) throw new InvalidArgumentError("--sha256 and --size are per URL: put sha256 in the list's third column");
        const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: "add {bar} {value}/{total} URLs", stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
        bar?.start(0, 0);
        const result = await addDownloadList(client, o.file, options, (done, total) => {
          bar?.setTotal(total);
          bar?.update(done);
        });
        bar?.stop();
        if (o.json) return printJson(result);
        console.log(`${result.submitted} downloads queued${result.deduplicated ? `, ${result.deduplicated} already there` : ""}${result.firstId === null ? "" : ` (jobs ${result.firstId}..${result.lastId})`}`);
      }),
    );

  withClientOptions(download.command("status <id>"))
    .description("one download: status, progress, and its result or error")
    .action(
      action(async (id: string, o) => {
        const job = await clientFrom(o).jobs.get.query({ id: parseIntArg("id")(id) });
        if (o.json) return printJson(job);
        const payload = job.payload as { url?: string; dest?: string };
        const result = job.result as { bytes?: number; sha256?: string; dest?: string; status?: number } | undefined;
        printTable([
          {
            id: job.id,
            status: job.status,
            attempts: `${job.attempts}/${job.maxAttempts}`,
            progress: job.progress ? `${Math.round(job.progress.fraction * 100)}%` : null,
            url: payload.url,
            dest: result?.dest ?? payload.dest,
            bytes: result?.bytes,
            http: result?.status,
            error: job.error ? `${job.error.code ?? ""} ${job.error.message}`.trim() : null,
            finished: when(job.finishedAt),
          },
        ]);
      }),
    );

  withQueue(download.command("pause [seconds]"))
    .description("hand out no new downloads (running ones finish); with SECONDS, resume by itself")
    .action(
      action(async (seconds: string | undefined, o) => {
        const info = await clientFrom(o).queues.pause.mutate({ queue: o.queue, ...(seconds === undefined ? {} : { seconds: parseIntArg("seconds")(seconds) }) });
        if (o.json) return printJson(info);
        console.log(`${o.queue} paused${info.pausedUntil ? ` until ${when(info.pausedUntil)}` : " until resumed"}`);
      }),
    );

  withQueue(download.command("resume"))
    .description("hand out downloads again")
    .action(
      action(async (o) => {
        const info = await clientFrom(o).queues.resume.mutate({ queue: o.queue });
        if (o.json) return printJson(info);
        console.log(`${o.queue} resumed`);
      }),
    );

  withQueue(download.command("clear"))
    .description("cancel queued downloads (your own, or everyone's with an admin token); running ones finish")
    .action(
      action(async (o) => {
        const out = await clientFrom(o).queues.clear.mutate({ queue: o.queue });
        if (o.json) return printJson(out);
        console.log(`cancelled ${out.cancelled} queued downloads`);
      }),
    );

  withQueue(download.command("stats"))
    .description("counts per status; finished, bytes and HTTP codes over the last 1, 10 and 60 minutes")
    .option("--user <user>", "one owner's downloads (an admin's choice; a submitter always sees their own)")
    .action(
      action(async (o) => {
        const stats = await clientFrom(o).queues.stats.query({ queue: o.queue, ...(o.user ? { user: o.user } : {}) });
        if (o.json) return printJson(stats);
        printStats(stats);
      }),
    );

  withQueue(download.command("concurrency <n>"))
    .description("most downloads running at once across the fleet ('none' lifts the cap)")
    .option("--per-host <k>", "most downloads from one host at once ('none' lifts it)")
    .action(
      action(async (n: string, o) => {
        const limit = (value: string, name: string) => (value === "none" ? null : parseIntArg(name)(value));
        const info = await clientFrom(o).queues.setConcurrency.mutate({
          queue: o.queue,
          concurrency: limit(n, "n"),
          ...(o.perHost === undefined ? {} : { groupConcurrency: limit(o.perHost, "per-host") }),
        });
        if (o.json) return printJson(info);
        console.log(`${o.queue}: at most ${info.concurrency ?? "unlimited"} at once, ${info.groupConcurrency ?? "unlimited"} per host`);
      }),
    );
  return download;
}

function printStats(stats: QueueStats): void {
  console.log(
    `${stats.name}${stats.user ? ` (${stats.user})` : ""}: ${Object.entries(stats.counts).map(([k, v]) => `${v} ${k}`).join(", ")}` +
      `${stats.paused ? ", paused" : ""} · at most ${stats.concurrency ?? "unlimited"} at once, ${stats.groupConcurrency ?? "unlimited"} per host`,
  );
  printTable(
    Object.values(stats.windows).map((w) => ({
      window: `${w.minutes} min`,
      succeeded: w.succeeded,
      failed: w.failed,
      retried: w.retried,
      bytes: w.bytes,
      "MB/s": (w.bytesPerSecond / 1e6).toFixed(2),
      "jobs/s": w.jobsPerSecond.toFixed(2),
      http: Object.entries(w.http).map(([code, n]) => `${code}:${n}`).join(" ") || "-",
    })),
  );
}
