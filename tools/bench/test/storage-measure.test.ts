import { describe, expect, it } from "vitest";
import { CRAWL_SCENARIOS, parseBenchConfig, STORAGE_SCENARIOS } from "../src/config.ts";
import { met } from "../src/report.ts";
import { shapeLabel } from "../src/storage-data.ts";
import { compare, comparisonRows, timeTurns, timing, type Contender } from "../src/storage-measure.ts";

describe("storage comparisons", () => {
  const drover = timing("Drover", [2, 4, 3], 300e6);
  const rclone = timing("rclone", [1.5, 1.5, 9], 300e6);

  it("report the median of the runs and the throughput at that median, in MB/s", () => {
    expect(drover.medianSec).toBe(3);
    expect(drover.mbPerSec).toBe(100);
    expect(drover.runsSec).toEqual([2, 4, 3]);
  });

  it("give the ratio of throughputs (baseline seconds over Drover's), held to the target", () => {
    const c = compare({ backend: "s3rver", shape: "big", shapeLabel: "1 × 300 MB", direction: "upload", files: 1, bytes: 300e6, drover, baseline: rclone, target: { op: ">=", bound: 1 } });
    expect(c.ratio).toBeCloseTo(0.5);
    // Round by round: 1.5/2, 1.5/4, 9/3; their median 0.75.
    expect(c.pairedRatios).toEqual([0.75, 0.375, 3]);
    expect(c.pairedMedian).toBe(0.75);
    const rows = comparisonRows("storage: s3rver", c);
    expect(rows.map((r) => r.metric)).toEqual(["upload 1 × 300 MB: Drover", "upload 1 × 300 MB: rclone", "upload 1 × 300 MB: Drover/rclone throughput"]);
    expect(rows.map(met)).toEqual([undefined, undefined, false]);
  });

  it("without a baseline give Drover's row only", () => {
    const c = compare({ backend: "GCS emulator", shape: "small", shapeLabel: "2 × 1 KB", direction: "download", files: 2, bytes: 2000, drover, baseline: undefined, target: undefined });
    expect(c.ratio).toBeUndefined();
    expect(c.pairedMedian).toBeUndefined();
    expect(comparisonRows("storage: GCS emulator", c)).toHaveLength(1);
  });

  it("label shapes in decimal units", () => {
    expect(shapeLabel(1, 200_000_000)).toBe("1 × 200 MB");
    expect(shapeLabel(2000, 50_000)).toBe("2,000 × 50 KB");
  });
});

describe("timeTurns", () => {
  function fake(tool: string, log: string[], delivered = { files: 1, bytes: 10 }): Contender {
    return {
      tool,
      reset: async () => void log.push(`reset ${tool}`),
      run: async () => void log.push(`run ${tool}`),
      count: async () => delivered,
    };
  }

  it("alternates which tool goes first, resets before every run and once at the end", async () => {
    const log: string[] = [];
    const seconds = await timeTurns([fake("A", log), fake("B", log)], 3, { files: 1, bytes: 10 }, async () => void log.push("settle"));
    expect(seconds.map((s) => s.length)).toEqual([3, 3]);
    expect(log.filter((l) => l.startsWith("run"))).toEqual(["run A", "run B", "run B", "run A", "run A", "run B"]);
    expect(log.slice(0, 3)).toEqual(["reset A", "settle", "run A"]);
    expect(log.slice(-2)).toEqual(["reset A", "reset B"]);
  });

  it("fails a run that did not deliver every byte", async () => {
    await expect(timeTurns([fake("A", [], { files: 1, bytes: 9 })], 1, { files: 1, bytes: 10 }, async () => undefined)).rejects.toThrow(/delivered 1 files \/ 9 bytes/);
  });
});

describe("--only storage", () => {
  it("stands for every storage scenario, in order, once", () => {
    expect(parseBenchConfig([], { BENCH_ONLY: "storage" }).scenarios).toEqual([...STORAGE_SCENARIOS]);
    expect(parseBenchConfig(["--only", "storage-s3,claim,storage"], {}).scenarios).toEqual(["claim", ...STORAGE_SCENARIOS]);
    expect(parseBenchConfig(["--only", "storage-rsync"], {}).scenarios).toEqual(["storage-rsync"]);
  });

  it("is part of a full run", () => {
    expect(parseBenchConfig([], {}).scenarios).toEqual(expect.arrayContaining([...STORAGE_SCENARIOS]));
  });

  it("has a crawl counterpart (crawl-wat, crawl-images), in order, once", () => {
    expect(parseBenchConfig([], { BENCH_ONLY: "crawl" }).scenarios).toEqual([...CRAWL_SCENARIOS]);
    expect(parseBenchConfig(["--only", "crawl-images,crawl,crawl-wat"], {}).scenarios).toEqual(["crawl-wat", "crawl-images"]);
  });

  it("refuses an unknown name", () => {
    expect(() => parseBenchConfig(["--only", "storage-ftp"], {})).toThrow(/only/);
  });
});
