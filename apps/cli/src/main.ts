#!/usr/bin/env node
// The one `drover` CLI. Settings come from flags, then DROVER_* env, then an optional .env.
import { config as loadDotenv } from "dotenv";
import { Command } from "commander";
import { queuesCommand, statusCommand, tokensCommand, workersCommand } from "./commands/admin.ts";
import { jobsCommand } from "./commands/jobs.ts";
import { coordinatorCommand, upCommand, workerCommand } from "./commands/serve.ts";
import { storageCommand } from "./commands/storage.ts";
import { crawlCommand } from "./commands/crawl.ts";
import { downloadCommand } from "./commands/download.ts";
import { attributesCommand, datasetsCommand, itemsCommand, projectsCommand } from "./commands/datasets.ts";
import { hubCommand } from "./commands/hub.ts";

// An optional .env in the working directory; it never overrides variables already set.
loadDotenv({ quiet: true });

const program = new Command("drover")
  .description("Drover: a coordinator hands out leases on jobs; workers on many machines run them with plugins")
  .version("0.1.0")
  .showHelpAfterError()
  .addCommand(upCommand())
  .addCommand(coordinatorCommand())
  .addCommand(workerCommand())
  .addCommand(jobsCommand())
  .addCommand(queuesCommand())
  .addCommand(workersCommand())
  .addCommand(tokensCommand())
  .addCommand(statusCommand())
  .addCommand(storageCommand())
  .addCommand(crawlCommand())
  .addCommand(downloadCommand())
  .addCommand(projectsCommand())
  .addCommand(datasetsCommand())
  .addCommand(itemsCommand())
  .addCommand(attributesCommand())
  .addCommand(hubCommand());

await program.parseAsync(process.argv);
