import { ROLES } from "@drover/protocol";
import { Command, Option } from "commander";
import { clientFrom, withClientOptions } from "../client-options.ts";
import { action } from "../fail.ts";
import { printJson, printTable, when } from "../output.ts";
import { parseIntArg } from "../parse.ts";

export function queuesCommand(): Command {
  const queues = new Command("queues").description("list, pause, resume, clear and cap queues");
  withClientOptions(queues.command("list"))
    .description("queues with their job counts")
    .action(
      action(async (o) => {
        const list = await clientFrom(o).queues.list.query();
        if (o.json) return printJson(list);
        printTable(
          list.map((q) => ({
            name: q.name,
            paused: q.paused ? (q.pausedUntil ? `until ${when(q.pausedUntil)}` : "yes") : "no",
            limit: q.concurrency,
            "per group": q.groupConcurrency,
            ...q.counts,
          })),
        );
      }),
    );
  withClientOptions(queues.command("pause <queue>"))
    .description("stop handing out the queue's jobs (running ones finish)")
    .option("--seconds <n>", "resume by itself after this long", parseIntArg("seconds"))
    .action(action(async (queue: string, o) => printJson(await clientFrom(o).queues.pause.mutate({ queue, ...(o.seconds ? { seconds: o.seconds } : {}) }))));
  withClientOptions(queues.command("resume <queue>"))
    .description("hand out the queue's jobs again")
    .action(action(async (queue: string, o) => printJson(await clientFrom(o).queues.resume.mutate({ queue }))));
  withClientOptions(queues.command("clear <queue>"))
    .description("cancel the queue's queued jobs")
    .action(
      action(async (queue: string, o) => {
        const { cancelled } = await clientFrom(o).queues.clear.mutate({ queue });
        console.log(`cancelled ${cancelled} queued jobs in ${queue}`);
      }),
    );
  withClientOptions(queues.command("concurrency <queue> <n>"))
    .description("most of the queue's jobs leased at once across the fleet ('none' lifts the cap)")
    .option("--per-group <k>", "most jobs of one group (e.g. one host) leased at once ('none' lifts it)")
    .action(
      action(async (queue: string, n: string, o) => {
        const limit = (value: string, name: string) => (value === "none" ? null : parseIntArg(name)(value));
        printJson(await clientFrom(o).queues.setConcurrency.mutate({ queue, concurrency: limit(n, "n"), ...(o.perGroup === undefined ? {} : { groupConcurrency: limit(o.perGroup, "per-group") }) }));
      }),
    );
  withClientOptions(queues.command("stats <queue>"))
    .description("counts per status; finished jobs, bytes and HTTP codes over the last 1, 10 and 60 minutes")
    .action(action(async (queue: string, o) => printJson(await clientFrom(o).queues.stats.query({ queue }))));
  return queues;
}

export function workersCommand(): Command {
  const workers = new Command("workers").description("the fleet");
  withClientOptions(workers.command("list"))
    .description("workers with status and last-seen time")
    .action(
      action(async (o) => {
        const list = await clientFrom(o).workers.list.query();
        if (o.json) return printJson(list);
        printTable(list.map((w) => ({ id: w.id, name: w.name, status: w.status, host: w.host.hostname, types: w.types.join(","), concurrency: w.concurrency, leases: w.activeLeases, lastSeen: when(w.lastSeenAt) })));
      }),
    );
  withClientOptions(workers.command("leaderboard"))
    .description("jobs and reported counts (pairs, images) per worker name")
    .option("--type <type>", "only jobs of this type")
    .option("--by <count>", "rank by this count", "jobs")
    .option("--limit <n>", "rows", parseIntArg("limit"), 20)
    .action(
      action(async (o) => {
        const rows = await clientFrom(o).workers.leaderboard.query({ by: o.by, limit: o.limit, ...(o.type ? { type: o.type } : {}) });
        if (o.json) return printJson(rows);
        const names = [...new Set(rows.flatMap((r) => Object.keys(r.counts)))].sort();
        printTable(rows.map((r, i) => ({ rank: i + 1, name: r.name, jobs: r.jobs, ...Object.fromEntries(names.map((n) => [n, r.counts[n] ?? 0])) })));
      }),
    );
  return workers;
}

export function tokensCommand(): Command {
  const tokens = new Command("tokens").description("mint, list and revoke API tokens (admin)");
  withClientOptions(tokens.command("create"))
    .description("mint a token; it is printed once and stored only as a hash")
    .requiredOption("--name <name>", "what the token is for")
    .addOption(new Option("--role <role>", "what it may do").choices(ROLES as unknown as string[]).makeOptionMandatory())
    .option("--user <user>", "the user its jobs are recorded under (default: the name)")
    .action(
      action(async (o) => {
        const created = await clientFrom(o).tokens.create.mutate({ name: o.name, role: o.role, ...(o.user ? { user: o.user } : {}) });
        if (o.json) return printJson(created);
        console.log(`token ${created.id} (${created.role}) for ${created.user}:\n${created.token}\nstore it now: it is not shown again`);
      }),
    );
  withClientOptions(tokens.command("list"))
    .description("tokens (never their secrets)")
    .action(
      action(async (o) => {
        const list = await clientFrom(o).tokens.list.query();
        if (o.json) return printJson(list);
        printTable(list.map((t) => ({ id: t.id, name: t.name, role: t.role, user: t.user, created: when(t.createdAt), lastUsed: when(t.lastUsedAt), revoked: when(t.revokedAt) })));
      }),
    );
  withClientOptions(tokens.command("revoke <id>"))
    .description("revoke a token at once")
    .action(action(async (id: string, o) => printJson(await clientFrom(o).tokens.revoke.mutate({ id }))));
  return tokens;
}

export function statusCommand(): Command {
  return withClientOptions(new Command("status"))
    .description("coordinator health, job counts, workers and queues")
    .action(
      action(async (o) => {
        const status = await clientFrom(o).system.status.query();
        if (o.json) return printJson(status);
        console.log(`coordinator ${o.url} v${status.version}, up since ${when(status.startedAt)}; you are ${status.you.user} (${status.you.role})`);
        console.log(`workers: ${status.workers.active} active, ${status.workers.lost} lost; queues: ${status.queues.total} (${status.queues.paused} paused)`);
        printTable(status.counts.map((c) => ({ type: c.type, status: c.status, count: c.count })));
      }),
    );
}
