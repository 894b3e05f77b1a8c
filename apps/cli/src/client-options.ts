import { createDroverClient, type DroverClient } from "@drover/protocol";
import { Command, Option } from "commander";
import { z } from "zod";
import { fail } from "./fail.ts";

const ClientConfig = z.object({
  url: z.string().url(),
  token: z.string({ error: "is required: pass --token or set DROVER_TOKEN (the admin token `drover up` prints)" }).min(16, "is too short to be a Drover token"),
});

/** Adds --url/--token (DROVER_URL/DROVER_TOKEN) and --json to a client command. */
export function withClientOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--url <url>", "coordinator URL").env("DROVER_URL").default("http://127.0.0.1:7400"))
    .addOption(new Option("--token <token>", "API token").env("DROVER_TOKEN"))
    .option("--json", "print JSON instead of a table", false);
}

export function clientFrom(opts: { url?: string; token?: string }): DroverClient {
  const parsed = ClientConfig.safeParse(opts);
  if (!parsed.success) fail(`invalid configuration: ${parsed.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join("; ")}`, 2);
  return createDroverClient(parsed.data);
}
