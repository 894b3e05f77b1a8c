// The crawl.images runner: pairs Parquet in, WebDataset shards + a success Parquet out.
//
// Rules that must hold:
// - Nothing is uploaded until every pair has an outcome and every output file is closed; an
//   aborted or failed attempt leaves nothing under outputRoot (its work dir is removed).
// - The outcomes add up to the number of rows in the pairs file.
// - Heavy modules (sharp, tar-stream, parquetjs, the storage backends) are imported inside
//   run(): the coordinator imports this file's package but must never load them.
import { setMaxListeners } from "node:events";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { defineJobType } from "../define.ts";
import { imagesSpec, type ImageOutcome } from "./images.spec.ts";
import type { Pair } from "./pairs-parquet.ts";

type Counts = Record<ImageOutcome, number>;

/** Examples of each failure kept for the job's log (the rest are only counted). */
const EXAMPLES_PER_OUTCOME = 5;
const PROGRESS_EVERY_MS = 500;
const PARQUET_NAME = "images.parquet";

export const imagesJob = defineJobType({
  ...imagesSpec,
  async run(ctx) {
    const { payload, signal } = ctx;
    const options = payload.options;
    const [{ fetchImage }, { processImage }, { ShardWriter }, { writeImageRows }, { readPairs, countPairs }, outputs] = await Promise.all([
      import("./images-fetch.ts"),
      import("./images-process.ts"),
      import("./webdataset.ts"),
      import("./images-parquet.ts"),
      import("./pairs-parquet.ts"),
      import("./images-outputs.ts"),
    ]);

    const inDir = join(ctx.workDir, "in");
    const outDir = join(ctx.workDir, "out");
    await Promise.all([mkdir(inDir, { recursive: true }), mkdir(outDir, { recursive: true })]);
    const pairsPath = join(inDir, "pairs.parquet");
    await outputs.fetchInput(payload.pairs, pairsPath, signal);
    const total = await countPairs(pairsPath);
    ctx.log(`crawl.images: ${total} pairs from ${payload.pairs}`);

    const counts: Counts = { ok: 0, timeout: 0, httpError: 0, tooSmall: 0, tooBig: 0, undecodable: 0 };
    const examples = new Map<ImageOutcome, number>();
    const started = performance.now();
    let done = 0;
    let lastProgress = 0;
    const record = (pair: Pair, outcome: ImageOutcome, reason?: string): void => {
      counts[outcome]++;
      done++;
      if (reason !== undefined && (examples.get(outcome) ?? 0) < EXAMPLES_PER_OUTCOME) {
        examples.set(outcome, (examples.get(outcome) ?? 0) + 1);
        ctx.log(`${outcome}: ${pair.url.slice(0, 300)}: ${reason.slice(0, 300)}`);
      }
      const now = performance.now();
      if (now - lastProgress >= PROGRESS_EVERY_MS || done === total) {
        lastProgress = now;
        ctx.progress(total === 0 ? 1 : done / total, `${done}/${total} (${counts.ok} ok)`);
      }
    };

    const shards = new ShardWriter(outDir, options.shardSize);
    const rows = await writeImageRows(join(outDir, PARQUET_NAME));
    // Shard and Parquet writes are serialised: one sample's files stay together in the tar,
    // and parquetjs' appendRow must not overlap a row-group flush.
    let sink: Promise<unknown> = Promise.resolve();
    const serially = (op: () => Promise<void>): Promise<void> => {
      const next = sink.then(op);
      sink = next.catch(() => undefined);
      return next;
    };

    // A failed lane (a disk error, not a bad image) stops the others.
    const stop = new AbortController();
    // Each request in flight listens on it (not a leak: they remove themselves).
    setMaxListeners(options.concurrency + 10, stop.signal);
    const onJobAbort = (): void => stop.abort(signal.reason);
    signal.addEventListener("abort", onJobAbort, { once: true });
    const pairs = readPairs(pairsPath, { signal: stop.signal })[Symbol.asyncIterator]();

    const handle = async (pair: Pair): Promise<void> => {
      const fetched = await fetchImage(pair.url, { timeoutMs: options.timeoutMs, userAgent: options.userAgent, maxBytes: options.maxBytes, signal: stop.signal });
      if (fetched.outcome !== "ok") return record(pair, fetched.outcome, fetched.reason);
      if (fetched.bytes.byteLength < options.minBytes) return record(pair, "tooSmall", `${fetched.bytes.byteLength} bytes < ${options.minBytes}`);
      const image = await processImage(fetched.bytes, { size: options.size, maxPixels: options.maxPixels });
      stop.signal.throwIfAborted();
      if (image.outcome !== "ok") return record(pair, image.outcome, image.reason);
      await serially(async () => {
        const key = pair.sampleId.toString();
        await shards.add(key, [
          { ext: "jpg", data: image.jpeg },
          { ext: "txt", data: Buffer.from(pair.alt, "utf8") },
          { ext: "json", data: Buffer.from(sampleJson(pair, image.width, image.height), "utf8") },
        ]);
        await rows.write({ ...pair, width: image.width, height: image.height });
      });
      record(pair, "ok");
    };
    const lane = async (): Promise<void> => {
      try {
        for (;;) {
          const next = await pairs.next();
          if (next.done === true) return;
          await handle(next.value);
        }
      } catch (error) {
        stop.abort(error);
        throw error;
      }
    };

    try {
      // allSettled, not all: no lane may still be writing when the work dir goes away.
      const lanes = await Promise.allSettled(Array.from({ length: options.concurrency }, lane));
      signal.throwIfAborted();
      const failed = lanes.find((l): l is PromiseRejectedResult => l.status === "rejected");
      if (failed !== undefined) throw failed.reason;
    } catch (error) {
      shards.destroy(error instanceof Error ? error : new Error(String(error)));
      await rows.close().catch(() => undefined);
      throw error;
    } finally {
      signal.removeEventListener("abort", onJobAbort);
      // Closes the Parquet reader if the lanes stopped early.
      await pairs.return?.(undefined).catch(() => undefined);
    }

    const tars = await shards.close();
    await rows.close();
    const seconds = (performance.now() - started) / 1000;
    ctx.log(`crawl.images: ${summary(counts, total)} in ${seconds.toFixed(1)} s (${(total / Math.max(seconds, 1e-3)).toFixed(1)} pairs/s)`);

    const artifacts = await outputs.uploadOutputs({
      outputRoot: payload.outputRoot,
      prefix: `${ctx.jobId}/${ctx.attempt}/`,
      dir: outDir,
      files: tars,
      last: [PARQUET_NAME],
      signal,
    });
    ctx.count("images", counts.ok);
    ctx.progress(1, `${total}/${total} (${counts.ok} ok)`);
    return { ...counts, total, artifacts };
  },
});

/**
 * The `<key>.json` of a sample: its pair and the original's dimensions. sample_id is written
 * as a JSON integer from the bigint's digits (exact beyond 2^53, as Python's json reads it).
 */
function sampleJson(pair: Pair, width: number, height: number): string {
  const rest = JSON.stringify({
    url: pair.url,
    alt: pair.alt,
    page_url: pair.pageUrl,
    license: pair.license ?? null,
    language: pair.language ?? null,
    width,
    height,
  });
  return `{"sample_id":${pair.sampleId.toString()},${rest.slice(1)}`;
}

function summary(counts: Counts, total: number): string {
  return `${total} pairs: ${Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")}`;
}
