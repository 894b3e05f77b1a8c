import Database from "better-sqlite3";
import { statSync } from "node:fs";
import { Harness } from "./harness.ts";
import { submitNoops } from "./seed.ts";
import { drainWindow, pauseQueue } from "./drain.ts";
const W = Number(process.argv[2] ?? 2), C = Number(process.argv[3] ?? 64), N = Number(process.argv[4] ?? 15000), R = Number(process.argv[5] ?? 3);
const h = await Harness.start({ name: "dev" });
try {
  await pauseQueue(h, "noop");
  await h.startWorkers({ count: W, concurrency: C, types: ["noop"] });
  await submitNoops(h.admin, 3000); await drainWindow(h, "noop", 3000, 60000);
  const db = new Database(h.dbFile, { readonly: true });
  for (let r = 0; r < R; r++) {
    await submitNoops(h.admin, N);
    const t = Date.now();
    const w = await drainWindow(h, "noop", N, 60000);
    const rows = db.prepare("SELECT CAST((finished_at - ?) / 500 AS INTEGER) AS b, count(*) AS n FROM jobs WHERE status='succeeded' AND finished_at >= ? GROUP BY b ORDER BY b").all(t, t) as {b:number,n:number}[];
    const wal = statSync(h.dbFile + "-wal").size;
    console.log(Math.round(w.jobsPerSec), "jobs/s; per 500ms:", rows.map((x) => x.n).join(" "), "| wal MB", (wal / 1e6).toFixed(1));
  }
} finally { await h.close(); }
