import { router } from "../trpc.ts";
import { datasetsRouter, itemsRouter, projectsRouter, workflowRouter } from "./datasets.ts";
import { jobsRouter } from "./jobs.ts";
import { leasesRouter } from "./leases.ts";
import { queuesRouter } from "./queues.ts";
import { systemRouter } from "./system.ts";
import { tokensRouter } from "./tokens.ts";
import { workersRouter } from "./workers.ts";

export const appRouter = router({
  jobs: jobsRouter,
  leases: leasesRouter,
  queues: queuesRouter,
  workers: workersRouter,
  tokens: tokensRouter,
  system: systemRouter,
  projects: projectsRouter,
  datasets: datasetsRouter,
  items: itemsRouter,
  workflow: workflowRouter,
});

export type AppRouter = typeof appRouter;
