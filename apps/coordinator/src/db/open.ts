import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as schema from "./schema.ts";

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), "../../drizzle");

/**
 * Opens (creating if needed) the coordinator's SQLite file in WAL mode and applies the
 * drizzle-kit migrations. WAL lets readers run beside the one writer; synchronous=NORMAL
 * is durable across process crashes (a power cut may lose the last transactions).
 */
export function openDatabase(file: string): Db {
  if (file !== ":memory:") mkdirSync(dirname(resolve(file)), { recursive: true });
  const client = new Database(file);
  client.pragma("journal_mode = WAL");
  client.pragma("synchronous = NORMAL");
  client.pragma("busy_timeout = 5000");
  client.pragma("foreign_keys = ON");
  // Checkpoints run on their own thread (db/checkpointer.ts), not inside a request's commit.
  // Its passive checkpoints cannot always catch up with a steady stream of commits, so the
  // automatic one stays as a backstop at 10,000 pages (~40 MB), and the WAL file is cut back
  // to 64 MB after a checkpoint resets it.
  if (file !== ":memory:") {
    client.pragma("wal_autocheckpoint = 10000");
    client.pragma("journal_size_limit = 67108864");
  }
  const db = drizzle(client, { schema }) as Db;
  migrate(db, { migrationsFolder: MIGRATIONS });
  return db;
}
