import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

// Plain JS on purpose: a worker thread does not inherit the TypeScript loader in every runner.
const CODE = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 1000");
const timer = setInterval(() => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch (error) { parentPort.postMessage(String(error)); }
}, workerData.intervalMs);
parentPort.on("message", (message) => {
  if (message !== "stop") return;
  clearInterval(timer);
  db.close();
  parentPort.postMessage("stopped");
});
`;

/**
 * Checkpoints the WAL from a second connection on its own thread. SQLite's automatic
 * checkpoint runs inside whichever commit crosses the WAL's size limit, so one request in
 * a thousand paid for it (the pickup p99 in tools/bench halved without it); this moves the
 * work off the request path. The main connection sets `wal_autocheckpoint = 0`.
 */
export function startCheckpointer(file: string, intervalMs: number, onError: (message: string) => void): () => Promise<void> {
  const module = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(CODE, { eval: true, workerData: { file, module, intervalMs } });
  worker.on("message", (m) => {
    if (m !== "stopped") onError(String(m));
  });
  worker.on("error", (e) => onError(e.message));
  worker.unref();
  return () =>
    new Promise<void>((resolve) => {
      const timeout = setTimeout(() => void worker.terminate().then(() => resolve()), 2000);
      worker.on("message", (m) => {
        if (m === "stopped") {
          clearTimeout(timeout);
          void worker.terminate().then(() => resolve());
        }
      });
      worker.once("exit", () => {
        clearTimeout(timeout);
        resolve();
      });
      worker.postMessage("stop");
    });
}
