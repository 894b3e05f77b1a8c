import { JOB_STATUSES, type JobStatus } from "@drover/protocol";
import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { clientFrom, withClientOptions } from "../client-options.ts";
import { action, fail } from "../fail.ts";
import { printJson, printTable, when } from "../output.ts";
import { parseIntArg, parseJsonArg, parseTimeArg } from "../parse.ts";

export function jobsCommand(): Command {
  const jobs = new Command("jobs").description("submit, inspect, cancel and retry jobs");

  withClientOptions(jobs.command("submit <type>"))
    .description("submit one job")
    .option("-p, --payload <json>", "payload as JSON", parseJsonArg)
    .option("--payload-file <file>", "read the payload JSON from a file")
    .option("-q, --queue <queue>", "queue (default: the type)")
    .option("--priority <n>", "higher runs first", parseIntArg("priority"))
    .option("--run-after <time>", "not before: ISO time, epoch ms or +30s/+5m/+2h", parseTimeArg)
    .option("--max-attempts <n>", "attempts before failing for good", parseIntArg("max-attempts"))
    .option("--lease-seconds <n>", "lease length", parseIntArg("lease-seconds"))
    .option("--idempotency-key <key>", "a second submit with this key adds nothing")
    .option("--wait", "wait until the job ends and print it", false)
    .action(
      action(async (type: string, o) => {
        const client = clientFrom(o);
        let payload: unknown = o.payload ?? {};
        if (o.payloadFile) {
          try {
            payload = JSON.parse(readFileSync(o.payloadFile, "utf8"));
          } catch (e) {
            fail(`--payload-file: ${(e as Error).message}`, 2);
          }
        }
        const res = await client.jobs.submit.mutate({
          type,
          payload,
          ...(o.queue ? { queue: o.queue } : {}),
          ...(o.priority !== undefined ? { priority: o.priority } : {}),
          ...(o.runAfter !== undefined ? { runAfter: o.runAfter } : {}),
          ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}),
          ...(o.leaseSeconds !== undefined ? { leaseSeconds: o.leaseSeconds } : {}),
          ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
        });
        if (!o.wait) {
          if (o.json) printJson(res);
          else console.log(res.deduplicated ? `job ${res.id} (already submitted with this key)` : `job ${res.id}`);
          return;
        }
        for (;;) {
          const job = await client.jobs.get.query({ id: res.id });
          if (["succeeded", "failed", "cancelled"].includes(job.status)) {
            printJson(job);
            if (job.status !== "succeeded") process.exitCode = 1;
            return;
          }
          await sleep(250);
        }
      }),
    );

  withClientOptions(jobs.command("list"))
    .description("list jobs, newest first")
    .option("-t, --type <type>", "only this type")
    .option("-q, --queue <queue>", "only this queue")
    .addOption(new Option("-s, --status <status>", "only this status").choices(JOB_STATUSES as unknown as string[]))
    .option("-n, --limit <n>", "page size", parseIntArg("limit"), 50)
    .option("--cursor <id>", "continue after this id (printed as next cursor)", parseIntArg("cursor"))
    .action(
      action(async (o) => {
        const page = await clientFrom(o).jobs.list.query({
          limit: o.limit,
          ...(o.type ? { type: o.type } : {}),
          ...(o.queue ? { queue: o.queue } : {}),
          ...(o.status ? { status: o.status as JobStatus } : {}),
          ...(o.cursor !== undefined ? { cursor: o.cursor } : {}),
        });
        if (o.json) return printJson(page);
        printTable(
          page.jobs.map((j) => ({ id: j.id, type: j.type, queue: j.queue, status: j.status, attempts: `${j.attempts}/${j.maxAttempts}`, created: when(j.createdAt), error: j.error?.message?.slice(0, 60) ?? null })),
        );
        if (page.nextCursor !== null) console.log(`next cursor: ${page.nextCursor}`);
      }),
    );

  withClientOptions(jobs.command("get <id>"))
    .description("show one job, with --events its history and --logs its log")
    .option("--events", "include state changes", false)
    .option("--logs", "include log lines", false)
    .action(
      action(async (id: string, o) => {
        const client = clientFrom(o);
        const jobId = parseIntArg("id")(id);
        const job = await client.jobs.get.query({ id: jobId });
        const out: Record<string, unknown> = { ...job };
        if (o.events) out.events = await client.jobs.events.query({ id: jobId });
        if (o.logs) out.logs = await client.jobs.logs.query({ id: jobId });
        printJson(out);
      }),
    );

  for (const verb of ["cancel", "retry"] as const) {
    withClientOptions(jobs.command(`${verb} <id>`))
      .description(verb === "cancel" ? "cancel a queued or leased job" : "queue a failed or cancelled job again")
      .action(
        action(async (id: string, o) => {
          const job = await clientFrom(o).jobs[verb].mutate({ id: parseIntArg("id")(id) });
          if (o.json) printJson(job);
          else console.log(`job ${job.id} is ${job.status}`);
        }),
      );
  }
  return jobs;
}
