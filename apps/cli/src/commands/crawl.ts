import cliProgress from "cli-progress";
import { Command, InvalidArgumentError } from "commander";
import { setTimeout as sleep } from "node:timers/promises";
import { clientFrom, withClientOptions } from "../client-options.ts";
import { crawlStatus, formatDuration, smooth } from "../crawl/status.ts";
import { seedShards } from "../crawl/seed.ts";
import { action } from "../fail.ts";
import { printJson, printTable } from "../output.ts";
import { parseIntArg } from "../parse.ts";

function parsePieces(value: string): 1 | 2 {
  if (value !== "1" && value !== "2") throw new InvalidArgumentError("pieces must be 1 or 2");
  return Number(value) as 1 | 2;
}

export function crawlCommand(): Command {
  const crawl = new Command("crawl").description("Crawling@Home pipelines: seed WAT shards, watch progress, the leaderboard");

  withClientOptions(crawl.command("seed"))
    .description("submit one crawl.wat job per shard (or half), with sample-id ranges from the coordinator's counter")
    .requiredOption("--paths <file>", "a wat.paths file (plain or .gz), one shard path per line")
    .requiredOption("--base-url <url>", "joined with each path: http(s) or a storage URL")
    .requiredOption("--output-root <url>", "storage URL where the jobs write pairs and stats")
    .option("--ids-per-shard <n>", "sample ids reserved per job", parseIntArg("ids-per-shard"), 1_000_000)
    .option("--pieces <n>", "1: a job per shard; 2: a job per half", parsePieces, 1 as 1 | 2)
    .option("--queue <queue>", "queue for the jobs")
    .option("--priority <n>", "job priority", parseIntArg("priority"))
    .option("--lease-seconds <n>", "lease length (default: the type's, 300 s)", parseIntArg("lease-seconds"))
    .action(
      action(async (o) => {
        if (o.idsPerShard < 1) throw new InvalidArgumentError("ids-per-shard must be at least 1");
        const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: "seed {value} jobs {bar}", stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
        bar?.start(0, 0);
        const result = await seedShards(clientFrom(o), { paths: o.paths, baseUrl: o.baseUrl, outputRoot: o.outputRoot, idsPerShard: o.idsPerShard, pieces: o.pieces, queue: o.queue, priority: o.priority, leaseSeconds: o.leaseSeconds }, (done) => {
          bar?.setTotal(done);
          bar?.update(done);
        });
        bar?.stop();
        if (o.json) return printJson(result);
        console.log(`${result.shards} shards: ${result.submitted} jobs submitted, ${result.deduplicated} already there; sample ids ${result.firstId ?? "-"}..${result.endId === null ? "-" : result.endId - 1}`);
      }),
    );

  withClientOptions(crawl.command("status"))
    .description("shards done of total, pairs so far, throughput and ETA")
    .option("--watch <seconds>", "refresh every N seconds with a moving-average rate", parseIntArg("watch"))
    .action(
      action(async (o) => {
        const client = clientFrom(o);
        let rate: number | null = null;
        for (;;) {
          const s = await crawlStatus(client);
          rate = smooth(rate, s.shardsPerMinute);
          const left = s.shards.queued + s.shards.running;
          const eta = rate !== null && rate > 0 ? (left / rate) * 60_000 : null;
          if (o.json) printJson({ ...s, shardsPerMinute: rate, etaMs: eta });
          else console.log(`shards ${s.shards.done}/${s.shards.total} done (${s.shards.running} running, ${s.shards.queued} queued, ${s.shards.failed} failed) · pairs ${s.pairs} · images ${s.images} · ${rate === null ? "-" : rate.toFixed(2)} shards/min · ETA ${formatDuration(eta)}`);
          if (!o.watch) return;
          await sleep(o.watch * 1000);
        }
      }),
    );

  withClientOptions(crawl.command("leaderboard"))
    .description("jobs, pairs and images per worker name")
    .option("--by <count>", "rank by this count", "pairs")
    .option("--limit <n>", "rows", parseIntArg("limit"), 20)
    .action(
      action(async (o) => {
        const rows = await clientFrom(o).workers.leaderboard.query({ by: o.by, limit: o.limit });
        if (o.json) return printJson(rows);
        printTable(rows.map((r, i) => ({ rank: i + 1, name: r.name, jobs: r.jobs, pairs: r.counts.pairs ?? 0, images: r.counts.images ?? 0 })));
      }),
    );
  return crawl;
}
