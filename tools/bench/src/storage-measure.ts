// Timing for the storage benchmark: Drover and a baseline tool take turns doing the same
// transfer into a fresh destination, and the medians are compared. The arithmetic is pure
// (tested without timing); `timeTurns` is the only part that reads a clock.
import { accessSync, constants, writeFileSync } from "node:fs";
import type { Row, Target } from "./report.ts";
import { median } from "./stats.ts";
import type { ShapeName, TreeCount } from "./storage-data.ts";
import { runTool } from "./storage-tool.ts";

export type Direction = "upload" | "download";

/** One way of doing a transfer: Drover, or the baseline tool. */
export interface Contender {
  /** "Drover", "cp", "rsync", "rclone". */
  tool: string;
  /** The baseline's command line, for the report. */
  command?: string | undefined;
  /** Untimed, before every run: an empty destination (remote prefix deleted, local dir removed). */
  reset(): Promise<void>;
  /** The timed transfer. */
  run(): Promise<void>;
  /** Untimed, after every run: what arrived, checked against the source. */
  count(): Promise<TreeCount>;
}

export interface Timing {
  tool: string;
  command?: string | undefined;
  /** Wall-clock seconds of each run, in the order they ran. */
  runsSec: number[];
  medianSec: number;
  /** Bytes moved / median seconds, in MB/s (10^6 bytes). */
  mbPerSec: number;
}

export interface Comparison {
  /** The row label of the backend, e.g. "s3rver". */
  backend: string;
  shape: ShapeName;
  shapeLabel: string;
  direction: Direction;
  files: number;
  bytes: number;
  drover: Timing;
  baseline?: Timing | undefined;
  /** Drover's throughput over the baseline's (the baseline's median seconds over Drover's). */
  ratio?: number | undefined;
  /**
   * The same ratio round by round (the two runs of a round are back to back), and its median.
   * The disk here drifts between fast and slow phases lasting several runs; a round's two runs
   * share its phase, so the paired ratios show how far apart the tools are once the drift is
   * taken out. Reported beside `ratio`, which stays the figure held to the target.
   */
  pairedRatios?: number[] | undefined;
  pairedMedian?: number | undefined;
  /** The issue's goal for `ratio`. */
  target?: Target | undefined;
}

export function timing(tool: string, runsSec: readonly number[], bytes: number, command?: string): Timing {
  const medianSec = median(runsSec);
  if (!(medianSec > 0)) throw new RangeError(`${tool}: a transfer took ${medianSec} s`);
  return { tool, command, runsSec: [...runsSec], medianSec, mbPerSec: bytes / 1e6 / medianSec };
}

export function compare(base: Omit<Comparison, "ratio" | "pairedRatios" | "pairedMedian">): Comparison {
  const { drover, baseline } = base;
  if (baseline === undefined) return { ...base, ratio: undefined };
  const rounds = Math.min(drover.runsSec.length, baseline.runsSec.length);
  const pairedRatios = Array.from({ length: rounds }, (_, i) => baseline.runsSec[i]! / drover.runsSec[i]!);
  return { ...base, ratio: drover.mbPerSec / baseline.mbPerSec, pairedRatios, pairedMedian: rounds > 0 ? median(pairedRatios) : undefined };
}

/** Table rows: Drover's MB/s, the baseline's, and their ratio held to the target. */
export function comparisonRows(scenario: string, c: Comparison): Row[] {
  const what = `${c.direction} ${c.shapeLabel}`;
  const rows: Row[] = [{ scenario, metric: `${what}: Drover`, value: c.drover.mbPerSec, unit: "MB/s" }];
  if (c.baseline && c.ratio !== undefined) {
    rows.push({ scenario, metric: `${what}: ${c.baseline.tool}`, value: c.baseline.mbPerSec, unit: "MB/s" });
    rows.push({ scenario, metric: `${what}: Drover/${c.baseline.tool} throughput`, value: c.ratio, unit: "×", target: c.target });
  }
  return rows;
}

/** One line for the log: medians, throughputs, ratio. */
export function describeComparison(c: Comparison): string {
  const t = (x: Timing): string => `${x.tool} ${x.medianSec.toFixed(3)} s (${x.mbPerSec.toFixed(1)} MB/s)`;
  const paired = c.pairedRatios === undefined || c.pairedMedian === undefined ? "" : `; round by round ${c.pairedMedian.toFixed(2)} (${Math.min(...c.pairedRatios).toFixed(2)}–${Math.max(...c.pairedRatios).toFixed(2)})`;
  const vs = c.baseline ? `, ${t(c.baseline)}, ratio ${c.ratio!.toFixed(2)}${c.target ? ` (target ${c.target.op} ${c.target.bound})` : ""}${paired}` : "";
  return `${c.backend} ${c.direction} ${c.shapeLabel}: ${t(c.drover)}${vs}`;
}

/**
 * Before every run, untimed: every dirty page written back to disk (`sync`), then, where
 * this process may (root on Linux), the page cache dropped, so every run of either tool
 * starts from the same state: its source read from disk, its writes into free memory.
 *
 * Why: without the sync, the previous run's writes and the reset's deletes were still being
 * written back when the next run started (single runs of the same copy: 0.6–2.0 s). Without
 * the drop, this VM's runs drifted within one bench: cp -r of 2,000 × 50 KB took 0.1 s at
 * the start and 0.5–0.9 s some minutes later, for both tools, as the page cache grew into
 * memory the VM had not touched yet (its time is system time); after a drop, 0.11 s again.
 * Twelve runs of cp in a row with the drop: 336–376 ms. The drop empties the cache of the
 * whole machine: a benchmark wants the machine to itself anyway.
 */
async function settleCaches(): Promise<void> {
  await runTool({ cmd: "sync", args: [] });
  // A failure here fails the bench: runs with and without the drop must not be mixed.
  if (pageCache.dropped) writeFileSync("/proc/sys/vm/drop_caches", "3");
}

/** Whether runs start with the page cache dropped; reported with the results. */
export const pageCache = { dropped: canDropPageCache() } as const;

function canDropPageCache(): boolean {
  try {
    accessSync("/proc/sys/vm/drop_caches", constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs each contender `repeats` times, taking turns (A B, then B A, …, so neither always
 * runs on the caches the other warmed), each run into a fresh destination. A run that did
 * not deliver every file and byte fails the measurement: a broken transfer has no speed.
 * Returns the seconds of each contender's runs, in the order of `contenders`. `settle` runs
 * before every run, after the reset (tests pass one that leaves the machine's caches alone).
 */
export async function timeTurns(contenders: readonly Contender[], repeats: number, expected: TreeCount, settle: () => Promise<void> = settleCaches): Promise<number[][]> {
  const seconds = contenders.map((): number[] => []);
  for (let i = 0; i < repeats; i++) {
    const order = contenders.map((c, index) => ({ c, index }));
    if (i % 2 === 1) order.reverse();
    for (const { c, index } of order) {
      await c.reset();
      await settle();
      const started = performance.now();
      await c.run();
      seconds[index]!.push((performance.now() - started) / 1000);
      const got = await c.count();
      if (got.files !== expected.files || got.bytes !== expected.bytes) {
        throw new Error(`${c.tool} delivered ${got.files} files / ${got.bytes} bytes, expected ${expected.files} / ${expected.bytes}`);
      }
    }
  }
  for (const c of contenders) await c.reset();
  return seconds;
}
