// The crawl.wat runner: a WAT shard in, a pairs Parquet + stats JSON out, crawl.images queued.
//
// Rules that must hold:
// - The shard is streamed (never whole in memory or on disk); a truncated or corrupt file fails
//   the job (NonRetryableError) and nothing is uploaded.
// - Nothing is uploaded until both artifacts are complete and closed; they go to
//   `outputRoot/<jobId>/<attempt>/`, so attempts never overwrite each other, and a failed
//   upload removes what it had put there.
// - Heavy modules (parquetjs, eld, the storage backends) are imported inside run(): the
//   coordinator imports this package but must never load them.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defineJobType, type JobContext } from "../define.ts";
import { NonRetryableError } from "../errors.ts";
import type { ParseCounters } from "./wat-parse.ts";
import type { ScanStats } from "./wat-scan.ts";
import { watSpec } from "./wat.spec.ts";

const PROGRESS_EVERY_MS = 1000;
const PAIRS_NAME = "pairs.parquet";
const STATS_NAME = "stats.json";

/** What stats.json holds. */
export interface WatStats extends ScanStats, ParseCounters {
  shard: string;
  piece: 0 | 1 | null;
  startId: string;
  endId: string;
  firstId: string | null;
  lastId: string | null;
  /** Compressed bytes read from the shard. */
  bytesRead: number;
  seconds: number;
}

export const watJob = defineJobType({
  ...watSpec,
  async run(ctx) {
    const { payload, signal } = ctx;
    const started = performance.now();
    const [{ openShard }, { parseWat }, { scanRecords, emptyScanStats }, { writePairs }, { loadLanguageDetector }, { uploadArtifacts }] = await Promise.all([
      import("./wat-source.ts"),
      import("./wat-parse.ts"),
      import("./wat-scan.ts"),
      import("./pairs-parquet.ts"),
      import("./language.ts"),
      import("./wat-upload.ts"),
    ]);
    const startId = BigInt(payload.startId);
    const capacity = BigInt(payload.endId) - startId;
    const outDir = join(ctx.workDir, "out");
    await mkdir(outDir, { recursive: true });
    const pairsPath = join(outDir, PAIRS_NAME);
    const statsPath = join(outDir, STATS_NAME);

    const detect = payload.options.detectLanguage ? await loadLanguageDetector() : undefined;
    const counters: ParseCounters = { records: 0, metadataRecords: 0, badRecords: 0, bytesInflated: 0 };
    const scan = emptyScanStats();
    let bytesRead = 0;
    let lastProgress = 0;
    const writer = await writePairs(pairsPath);
    let source: Awaited<ReturnType<typeof openShard>> | undefined;
    try {
      source = await openShard(payload.shard, signal);
      const size = source.size;
      const counted = countBytes(source.body, (n) => (bytesRead += n));
      await scanRecords(
        parseWat(counted, counters, signal),
        {
          piece: payload.piece,
          filter: { excludeExtensions: payload.options.excludeExtensions, minAltLength: payload.options.minAltLength },
          detect,
          startId,
          capacity,
          writer,
          onRecord: () => {
            const now = performance.now();
            if (now - lastProgress < PROGRESS_EVERY_MS) return;
            lastProgress = now;
            reportProgress(ctx, bytesRead, size, scan.kept);
          },
        },
        scan,
      ).catch((error: unknown) => {
        // A shard that looks truncated because the download stopped short is a network
        // failure, worth a retry, not a damaged file.
        if (error instanceof NonRetryableError && error.code === "CORRUPT_SHARD" && size !== undefined && bytesRead < size) {
          throw new Error(`shard '${payload.shard}': the transfer ended after ${bytesRead} of ${size} bytes`, { cause: error });
        }
        throw error;
      });
    } finally {
      // Closing writes the footer and frees the file; on failure the file is simply not uploaded.
      await writer.close().catch(() => {});
      await source?.close().catch(() => {});
    }

    const label = payload.piece === undefined ? "the shard" : `piece ${payload.piece} of the shard`;
    if (scan.overflow > 0) {
      const needed = scan.kept + scan.overflow;
      throw new NonRetryableError(
        `id range [${payload.startId}, ${payload.endId}) holds ${capacity} ids but ${label} has ${needed} pairs (${scan.overflow} more than fit)`,
        { code: "ID_RANGE_TOO_SMALL" },
      );
    }
    const stats: WatStats = {
      shard: payload.shard,
      piece: payload.piece ?? null,
      startId: payload.startId,
      endId: payload.endId,
      firstId: scan.kept > 0 ? startId.toString() : null,
      lastId: scan.kept > 0 ? (startId + BigInt(scan.kept - 1)).toString() : null,
      ...counters,
      ...scan,
      bytesRead,
      seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
    };
    await writeFile(statsPath, `${JSON.stringify(stats, null, 2)}\n`);
    ctx.log(`${label}: ${counters.metadataRecords} metadata records, ${scan.images} images, ${scan.kept} pairs kept, ${scan.duplicates} duplicates, ${stats.seconds}s`);

    const prefix = `${ctx.jobId}/${ctx.attempt}/`;
    const [pairsFile, statsFile] = await uploadArtifacts(payload.outputRoot, prefix, [
      { path: pairsPath, key: `${prefix}${PAIRS_NAME}`, contentType: "application/vnd.apache.parquet" },
      { path: statsPath, key: `${prefix}${STATS_NAME}`, contentType: "application/json" },
    ], signal);

    ctx.progress(1, `${scan.kept} pairs`);
    ctx.count("pairs", scan.kept);
    const spawned = payload.options.spawnImages && scan.kept > 0;
    if (spawned) {
      ctx.spawn({
        type: "crawl.images",
        payload: { pairs: pairsFile!.url, outputRoot: payload.outputRoot, options: payload.images ?? {} },
        idempotencyKey: `crawl.images:${pairsFile!.url}`.slice(0, 200),
      });
    }
    return {
      pairs: scan.kept,
      firstId: stats.firstId,
      lastId: stats.lastId,
      records: scan.pieceRecords,
      pages: scan.pages,
      images: scan.images,
      duplicates: scan.duplicates,
      pairsFile: pairsFile!,
      statsFile: statsFile!,
      spawned,
    };
  },
});

function reportProgress(ctx: JobContext<unknown>, bytesRead: number, total: number | undefined, kept: number): void {
  const mb = (bytesRead / 1e6).toFixed(1);
  if (total !== undefined && total > 0) ctx.progress(Math.min(0.99, bytesRead / total), `${mb} of ${(total / 1e6).toFixed(1)} MB, ${kept} pairs`);
  else ctx.progress(0, `${mb} MB, ${kept} pairs`);
}

/** Passes chunks through, telling `add` each chunk's size (compressed bytes read). */
async function* countBytes(source: AsyncIterable<Uint8Array>, add: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    add(chunk.byteLength);
    yield chunk;
  }
}
