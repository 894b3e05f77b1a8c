// The coordinator and the worker (Fastify, SQLite, the job types) load only when a command
// runs them: every other command, and every --help, starts without them.
import type { RunningCoordinator } from "@drover/coordinator";
import type { Worker } from "@drover/worker";
import { Command } from "commander";
import { cpus } from "node:os";
import { action } from "../fail.ts";
import { collect, parseIntArg } from "../parse.ts";

function coordinatorOptions(cmd: Command): Command {
  return cmd
    .option("--host <host>", "listen address (DROVER_HOST, default 127.0.0.1)")
    .option("--port <port>", "port (DROVER_PORT, default 7400)")
    .option("--data-dir <dir>", "where the SQLite file lives (DROVER_DATA_DIR, default ./.drover)")
    .option("--db <file>", "SQLite file (DROVER_DB, default <data-dir>/drover.db)")
    .option("--plugin <module>", "plugin whose job types to validate (repeatable; DROVER_PLUGINS)", collect)
    .option("--accept-unknown-types", "accept jobs of types no plugin defines (DROVER_ACCEPT_UNKNOWN_TYPES)")
    .option("--crawl-compat", "serve the Crawling@Home API (/api/*, no token) for old crawling@home clients (DROVER_CRAWL_COMPAT)")
    .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent (DROVER_LOG_LEVEL)");
}

async function coordinatorConfigFrom(o: Record<string, unknown>) {
  const { parseCoordinatorConfig } = await import("@drover/coordinator");
  return parseCoordinatorConfig({
    host: o.host,
    port: o.port,
    dataDir: o.dataDir,
    db: o.db,
    plugins: o.plugin,
    acceptUnknownTypes: o.acceptUnknownTypes,
    crawlCompat: o.crawlCompat,
    logLevel: o.logLevel,
  });
}

function onStopSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(130); // a second Ctrl-C: stop now
    stopping = true;
    void stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

export function coordinatorCommand(): Command {
  return coordinatorOptions(new Command("coordinator"))
    .description("run the coordinator: the lease engine, its API and the reaper")
    .action(
      action(async (o) => {
        const config = await coordinatorConfigFrom(o);
        const { startCoordinator } = await import("@drover/coordinator");
        const c = await startCoordinator(config);
        console.log(`drover coordinator listening on ${c.url}`);
        if (c.bootstrapAdminToken) {
          console.log(`admin token (printed once, stored only as a hash):\n${c.bootstrapAdminToken}`);
        }
        onStopSignal(() => c.close());
      }),
    );
}

export function workerCommand(): Command {
  return new Command("worker")
    .description("lease jobs from a coordinator and run them with plugins")
    .option("--coordinator <url>", "coordinator URL (DROVER_URL, default http://127.0.0.1:7400)")
    .option("--token <token>", "worker token (DROVER_TOKEN)")
    .option("--types <types>", "job types to lease, comma-separated (DROVER_TYPES; default all loaded but exec and dataset.workflow)", collect)
    .option("--queues <queues>", "only jobs in these queues, comma-separated (DROVER_QUEUES)", collect)
    .option("--project <slug>", "run this project's dataset workflows and nothing else: crunch's loop (DROVER_PROJECT)")
    .option("--concurrency <n>", "jobs at once (DROVER_CONCURRENCY, default 1)")
    .option("--plugin <module>", "plugin module to load (repeatable; DROVER_PLUGINS)", collect)
    .option("--name <name>", "worker name (DROVER_WORKER_NAME, default the host name)")
    .option("--work-dir <dir>", "parent of each attempt's work dir (DROVER_WORK_DIR)")
    .option("--shutdown-grace-ms <ms>", "on SIGTERM, time for running jobs to finish (DROVER_SHUTDOWN_GRACE_MS, default 30000)")
    .option("--poll-ms <ms>", "long-poll length (DROVER_POLL_MS, default 20000)")
    .option("--labels <k=v,...>", "labels (DROVER_LABELS)")
    .option("--log-level <level>", "pino level (DROVER_LOG_LEVEL)")
    .action(
      action(async (o) => {
        const [{ parseConfig }, { startWorker, WORKER_ENV, WorkerConfigSchema }] = await Promise.all([import("@drover/coordinator"), import("@drover/worker")]);
        const config = parseConfig(WorkerConfigSchema, WORKER_ENV, {
          url: o.coordinator,
          token: o.token,
          types: o.types,
          queues: o.queues,
          project: o.project,
          concurrency: o.concurrency,
          plugins: o.plugin,
          name: o.name,
          workDir: o.workDir,
          shutdownGraceMs: o.shutdownGraceMs,
          pollMs: o.pollMs,
          labels: o.labels,
          logLevel: o.logLevel,
        }, process.env, { url: "coordinator", plugins: "plugin" });
        const { done } = await startWorker(config, { handleSignals: true });
        await done;
      }),
    );
}

export function upCommand(): Command {
  return coordinatorOptions(new Command("up"))
    .description("a coordinator on embedded defaults (SQLite under ./.drover) plus local workers, in one process")
    .option("--workers <n>", "local workers", parseIntArg("workers"), 1)
    .option("--concurrency <n>", "jobs at once per local worker (default: CPU count)", parseIntArg("concurrency"))
    .option("--types <types>", "job types the local workers lease (default all built-ins but exec)", collect)
    .action(
      action(async (o) => {
        const config = await coordinatorConfigFrom(o);
        const [{ parseConfig, startCoordinator }, { startWorker, WorkerConfigSchema }] = await Promise.all([import("@drover/coordinator"), import("@drover/worker")]);
        const c: RunningCoordinator = await startCoordinator(config, { bootstrapAdmin: false });
        // Each `up` mints a fresh session admin token (and revokes the last one), so it can
        // print one without ever storing a token in plain text.
        c.tokens.revokeByName("up-session");
        c.tokens.revokeByName("up-local-worker");
        const admin = c.tokens.mint({ name: "up-session", role: "admin", user: "admin" });
        const workerToken = c.tokens.mint({ name: "up-local-worker", role: "worker", user: "local" });
        const workers: Worker[] = [];
        for (let i = 0; i < o.workers; i++) {
          const wc = parseConfig(WorkerConfigSchema, {}, {
            url: c.url,
            token: workerToken.token,
            name: `local-${i + 1}`,
            concurrency: o.concurrency ?? cpus().length,
            logLevel: config.logLevel,
            ...(o.types ? { types: o.types } : {}),
            ...(o.plugin ? { plugins: o.plugin } : {}),
          });
          const { worker } = await startWorker(wc);
          workers.push(worker);
        }
        console.log(`drover is up: coordinator ${c.url}, ${workers.length} local worker(s), data in ${config.db ?? config.dataDir}`);
        console.log(`admin token for this session:\n${admin.token}`);
        console.log(`try:\n  export DROVER_URL=${c.url} DROVER_TOKEN=${admin.token}\n  npm run drover -- jobs submit noop --wait\n  npm run drover -- status`);
        onStopSignal(async () => {
          await Promise.all(workers.map((w) => w.shutdown(5000)));
          await c.close();
        });
      }),
    );
}
