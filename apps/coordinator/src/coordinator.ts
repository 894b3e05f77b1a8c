import { builtinSpecs } from "@drover/jobs/specs";
import { loadPlugins, specOf, type JobTypeSpec } from "@drover/jobs";
import { resolve } from "node:path";
import { crawlingAtHomeRoutes } from "./compat/crawling-at-home.ts";
import { startCheckpointer } from "./db/checkpointer.ts";
import { openDatabase } from "./db/open.ts";
import { LeaseEngine } from "./engine/lease-engine.ts";
import { startReaper } from "./engine/reaper.ts";
import { EngineState } from "./engine/state.ts";
import { JobTypeRegistry } from "./job-types.ts";
import { buildServer } from "./server.ts";
import { DatasetsServiceImpl } from "./services/datasets.ts";
import { dsxRoutes } from "./hub/dsx-routes.ts";
import { HubData, hubRoutes } from "./hub/hub-routes.ts";
import { JobsServiceImpl } from "./services/jobs.ts";
import { LeasesServiceImpl } from "./services/leases.ts";
import { QueuesServiceImpl } from "./services/queues.ts";
import { SystemServiceImpl } from "./services/system.ts";
import { TokensServiceImpl } from "./services/tokens.ts";
import { WorkersServiceImpl } from "./services/workers.ts";
import type { CoordinatorConfig } from "./config.ts";

export const VERSION = "0.1.0";

export interface RunningCoordinator {
  /** Base URL, e.g. http://127.0.0.1:7400 */
  url: string;
  port: number;
  /** Set only when this start minted the bootstrap admin token (first start, no DROVER_ADMIN_TOKEN). */
  bootstrapAdminToken: string | undefined;
  tokens: TokensServiceImpl;
  /** Stops taking requests, ends long-polls, closes the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Job type specs beyond the built-ins and the configured plugins (tests, embedding). */
  specs?: readonly JobTypeSpec[];
  /** Mint and return a bootstrap admin token when no admin token exists; default true (`drover up` mints its own). */
  bootstrapAdmin?: boolean;
}

/** Opens the database, builds the services and listens. */
export async function startCoordinator(config: CoordinatorConfig, options: StartOptions = {}): Promise<RunningCoordinator> {
  const plugins = config.plugins.length ? (await loadPlugins(config.plugins)).map(specOf) : [];
  const registry = new JobTypeRegistry([...builtinSpecs, ...plugins, ...(options.specs ?? [])], config.acceptUnknownTypes);
  const dbFile = config.db ?? resolve(config.dataDir, "drover.db");
  const db = openDatabase(dbFile);
  const state = new EngineState(db, registry, config);
  const engine = new LeaseEngine(state);
  let closing = false;

  const tokens = new TokensServiceImpl(db);
  const jobs = new JobsServiceImpl(state);
  const workers = new WorkersServiceImpl(state, engine, config.defaultLeaseSeconds * 1000);
  const queues = new QueuesServiceImpl(state);
  const services = {
    jobs,
    leases: new LeasesServiceImpl(state, engine, workers, () => closing),
    queues,
    workers,
    tokens,
    system: new SystemServiceImpl(VERSION, jobs, workers, queues),
    datasets: new DatasetsServiceImpl(state),
  };

  let bootstrapAdminToken: string | undefined;
  if (config.adminToken) {
    tokens.ensureAdminToken(config.adminToken);
  } else {
    tokens.revokeByName("env-admin"); // a DROVER_ADMIN_TOKEN that is no longer set stops working
    if (options.bootstrapAdmin !== false && !tokens.hasLiveAdmin()) {
      bootstrapAdminToken = tokens.mint({ name: "bootstrap-admin", role: "admin", user: "admin" }).token;
    }
  }

  // Optional wire-compatible APIs for fleets of older clients, each a plugin beside the tRPC routes.
  const compat = config.crawlCompat
    ? [crawlingAtHomeRoutes({ ...services, db: db.$client, uploadAddress: config.crawlUploadAddress, idleMs: config.defaultLeaseSeconds * 1000 })]
    : [];
  const authenticate = (t: string) => tokens.authenticate(t);
  // The dataset hub and its DSX Hub face: read-only, behind the same tokens.
  const hub = new HubData({ datasets: services.datasets, authenticate, cacheBytes: config.hubCacheBytes });
  const app = buildServer({ services, authenticate, logLevel: config.logLevel, bodyLimit: config.bodyLimit, plugins: [hubRoutes(hub), dsxRoutes(hub), ...compat] });
  const stopReaper = startReaper(engine, config.reaperIntervalMs, app.log);
  const stopCheckpointer = dbFile === ":memory:" ? async () => {} : startCheckpointer(dbFile, 1000, (message) => app.log.warn({ message }, "WAL checkpoint failed; will try again"));
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    stopReaper();
    await stopCheckpointer();
    db.$client.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  app.log.info({ url: `http://${host}:${port}`, types: registry.names() }, "coordinator listening");

  return {
    url: `http://${host}:${port}`,
    port,
    bootstrapAdminToken,
    tokens,
    async close() {
      if (closing) return;
      closing = true;
      stopReaper();
      state.wakeups.close();
      await app.close();
      await stopCheckpointer();
      db.$client.close(); // the last connection to close checkpoints the WAL fully
    },
  };
}
