import { downloadDir, uploadDir } from "@drover/storage";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { BenchConfig } from "../config.ts";
import type { ScenarioResult } from "../report.ts";
import { countTree, storageDataset, type Shape } from "../storage-data.ts";
import { compare, comparisonRows, describeComparison, pageCache, timeTurns, timing, type Comparison, type Contender, type Direction } from "../storage-measure.ts";
import { startTarget, type BackendName, type StorageTarget } from "../storage-targets.ts";
import { commandLine, runTool } from "../storage-tool.ts";

/** Where uploads land, under the storage's `bench/` root. */
const UP = "up/";

/** Drover and (when the backend has one) its baseline tool, for one shape and direction. */
function contenders(t: StorageTarget, shape: Shape, direction: Direction, seed: string, localDest: string, concurrency: number): Contender[] {
  const opts = { concurrency };
  const freshLocal = async (): Promise<void> => rmSync(localDest, { recursive: true, force: true });
  const up = { reset: () => t.clear(UP), count: () => t.count(UP) };
  const down = { reset: freshLocal, count: () => countTree(localDest) };
  const side = direction === "upload" ? up : down;
  const list: Contender[] = [
    {
      tool: "Drover",
      ...side,
      run: async () => {
        if (direction === "upload") await uploadDir(shape.dir, t.storage, { ...opts, prefix: UP });
        else await downloadDir(t.storage, localDest, { ...opts, prefix: seed });
      },
    },
  ];
  const b = t.baseline;
  if (b) {
    const command = direction === "upload" ? b.upload(shape.dir, UP) : b.download(seed, localDest);
    list.push({ tool: b.tool, command: commandLine(command), ...side, run: () => runTool(command) });
  }
  return list;
}

async function measureShape(t: StorageTarget, shape: Shape, work: string, config: BenchConfig, log: (line: string) => void): Promise<{ seedSec: number; comparisons: Comparison[] }> {
  const s = config.sizes.storage;
  const expected = { files: shape.files, bytes: shape.bytes };
  // Downloads read what Drover uploaded here (untimed; it also warms up the client).
  const seed = `seed-${shape.name}/`;
  await t.clear(seed);
  const started = performance.now();
  await uploadDir(shape.dir, t.storage, { concurrency: s.concurrency, prefix: seed });
  const seedSec = (performance.now() - started) / 1000;
  const seeded = await t.count(seed);
  if (seeded.files !== expected.files || seeded.bytes !== expected.bytes) throw new Error(`seeding ${seed} stored ${seeded.files} files / ${seeded.bytes} bytes`);

  const comparisons: Comparison[] = [];
  try {
    for (const direction of ["upload", "download"] as const) {
      const cs = contenders(t, shape, direction, seed, join(work, "download"), s.concurrency);
      const seconds = await timeTurns(cs, s.repeats, expected);
      const [drover, baseline] = cs.map((c, i) => timing(c.tool, seconds[i]!, shape.bytes, c.command));
      const c = compare({
        backend: t.label,
        shape: shape.name,
        shapeLabel: shape.label,
        direction,
        files: shape.files,
        bytes: shape.bytes,
        drover: drover!,
        baseline,
        target: t.baseline ? { op: ">=", bound: t.baseline.target } : undefined,
      });
      log(`  ${describeComparison(c)}`);
      comparisons.push(c);
    }
  } finally {
    await t.clear(seed);
  }
  return { seedSec, comparisons };
}

/**
 * Issue 3: upload and download of one big file and of many small ones through one backend,
 * side by side with the tool people would use instead (cp for local files, rsync for an
 * rsync daemon, rclone for S3). Drover runs in this process (`uploadDir`/`downloadDir` on a
 * storage opened once); the tool runs as a child process, its start-up included.
 */
export function storageScenario(backend: BackendName) {
  return async (config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> => {
    const s = config.sizes.storage;
    const genStarted = performance.now();
    const data = await storageDataset(s);
    const genSec = (performance.now() - genStarted) / 1000;
    if (genSec > 0.5) log(`storage: generated ${data.shapes.map((x) => x.label).join(" and ")} of random bytes in ${genSec.toFixed(1)} s`);
    const work = join(data.work, backend);
    const t = await startTarget(backend, work, s.concurrency);
    log(`storage-${backend}: ${t.label} at ${t.storage.url}${t.baseline ? ` vs ${t.baseline.version}` : " (no baseline)"}, ${s.repeats} run(s) each, taking turns, page cache ${pageCache.dropped ? "dropped" : "kept"} before each`);
    const shapes: Record<string, { seedSec?: number; skipped?: string }> = {};
    const comparisons: Comparison[] = [];
    try {
      for (const shape of data.shapes) {
        const limit = t.maxFileBytes;
        if (limit !== undefined && shape.bytes / shape.files > limit.bytes) {
          log(`  ${t.label}: ${shape.label} not measured: ${limit.why}`);
          shapes[shape.name] = { skipped: limit.why };
          continue;
        }
        const r = await measureShape(t, shape, work, config, log);
        shapes[shape.name] = { seedSec: r.seedSec };
        comparisons.push(...r.comparisons);
      }
    } finally {
      await t.close();
      rmSync(work, { recursive: true, force: true });
    }
    const scenario = `storage: ${t.label}`;
    return {
      name: `storage-${backend}`,
      rows: comparisons.flatMap((c) => comparisonRows(scenario, c)),
      detail: {
        backend: t.label,
        server: t.describe,
        baseline: t.baseline ? { tool: t.baseline.tool, version: t.baseline.version, target: t.baseline.target } : undefined,
        repeats: s.repeats,
        pageCache: pageCache.dropped ? "dropped before every run" : "kept: this process may not drop it",
        concurrency: s.concurrency,
        dataset: data.shapes.map(({ name, label, files, bytes }) => ({ name, label, files, bytes, ...shapes[name] })),
        comparisons,
      },
    };
  };
}
