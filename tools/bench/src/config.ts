import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { ROOT } from "./processes.ts";

/** The storage benchmark (issue 3): one scenario per backend, each against its baseline tool. */
export const STORAGE_SCENARIOS = ["storage-local", "storage-s3", "storage-rsync", "storage-gcs"] as const;
/** The crawl benchmark (issue 4): the WAT parser against zcat, and crawl.images against a loopback server. */
export const CRAWL_SCENARIOS = ["crawl-wat", "crawl-images"] as const;
export const DOWNLOAD_SCENARIOS = ["download-large", "download-small"] as const;
/** The dataset hub benchmark (issue 6): hub file serving against nginx, and a big manifest. */
export const HUB_SCENARIOS = ["hub-large", "hub-small", "hub-manifest"] as const;
export const SCENARIOS = ["inflight", "batched", "pickup", "claim", "depth", "overhead", "engine", ...STORAGE_SCENARIOS, ...CRAWL_SCENARIOS, ...DOWNLOAD_SCENARIOS, ...HUB_SCENARIOS] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** Names --only accepts besides the scenarios themselves: each stands for several scenarios. */
export const SCENARIO_GROUPS = { storage: STORAGE_SCENARIOS, crawl: CRAWL_SCENARIOS, download: DOWNLOAD_SCENARIOS, hub: HUB_SCENARIOS } as const satisfies Record<string, readonly ScenarioName[]>;
type GroupName = keyof typeof SCENARIO_GROUPS;
const SELECTABLE = [...SCENARIOS, "storage", "crawl", "download", "hub"] as const satisfies readonly (ScenarioName | GroupName)[];

/** Sizes of each scenario. The full preset is bounded to about ten minutes on 2 cores, plus ~8 for storage. */
export interface Sizes {
  /**
   * One job in flight per worker: worker processes of concurrency 1; the completion carries
   * `next`. Each window drains about `windowSeconds` worth of jobs at the warm-up's rate
   * (at most `maxJobsPerWindow`), so the run takes the same time however fast the code is.
   */
  inflight: { workerCounts: number[]; warmupJobs: number; windowSeconds: number; maxJobsPerWindow: number; windows: number; windowTimeoutMs: number };
  /** Batched claims and completes: worker processes of concurrency 64; windows sized as above. */
  batched: { workerCounts: number[]; concurrency: number; warmupJobs: number; windowSeconds: number; maxJobsPerWindow: number; windows: number; windowTimeoutMs: number };
  /** Enqueue → job start on an empty queue, one job at a time, one long-polling worker. */
  pickup: { samples: number; warmup: number; gapMs: number };
  /** `leases.acquire` (max 1, waitMs 0) latency with `inFlight` calls outstanding. */
  claim: { inFlight: number; requests: number; warmup: number };
  /** Drain rate with a shallow and a deep queue, the same number of jobs from the top of each. */
  depth: { depths: [number, number]; workers: number; concurrency: number; warmupJobs: number; jobsPerWindow: number; windows: number; windowTimeoutMs: number };
  /** Per-request cost of each layer: `sequential` calls one at a time, then `concurrent` with `inFlight` outstanding. */
  overhead: { warmup: number; sequential: number; concurrent: number; inFlight: number };
  /**
   * The lease engine alone in-process over `seedJobs` queued jobs (enough for every window at
   * several times this machine's rate): after `warmupSeconds`, `windows` of `windowSeconds`,
   * one job per call (`workers` taking turns), then `batch` per call.
   */
  engine: { seedJobs: number; workers: number; batch: number; warmupSeconds: number; windowSeconds: number; windows: number };
  /**
   * Directory upload and download through each storage backend and through its baseline tool
   * (cp, rsync, rclone): one file of `bigFileBytes`, and `smallFiles` files of `smallFileBytes`
   * (random bytes, generated once). Each transfer is timed `repeats` times per tool, the two
   * tools taking turns; `concurrency` is Drover's files in flight and rclone's --transfers.
   */
  storage: { bigFileBytes: number; smallFiles: number; smallFileBytes: number; repeats: number; concurrency: number };
  /**
   * crawl.wat on a generated WAT of about `watBytes` (gzip), `repeats` runs taking turns with
   * `zcat FILE > /dev/null`; crawl.images on `images` distinct loopback URLs, `repeats` runs.
   */
  crawl: { watBytes: number; repeats: number; images: number };
  /**
   * download.url jobs through a coordinator and `workers` worker processes against aria2c,
   * both on one loopback server: one file of `largeBytes` (one at a time), and `smallFiles`
   * of `smallBytes` with `concurrency` in flight (aria2c -j). `repeats` rounds, taking turns.
   */
  download: { largeBytes: number; smallFiles: number; smallBytes: number; concurrency: number; workers: number; repeats: number };
  /**
   * The hub's file routes against nginx over the same files on disk, one client process:
   * one file of `largeBytes`, and `smallFiles` of `smallBytes` with `concurrency` in flight;
   * `repeats` rounds taking turns. A manifest of `manifestFiles` files, `manifestSamples` GETs.
   */
  hub: { largeBytes: number; smallFiles: number; smallBytes: number; concurrency: number; repeats: number; manifestFiles: number; manifestSamples: number };
}

export const FULL: Sizes = {
  inflight: { workerCounts: [2, 4], warmupJobs: 2000, windowSeconds: 8, maxJobsPerWindow: 200_000, windows: 3, windowTimeoutMs: 30_000 },
  batched: { workerCounts: [1, 2], concurrency: 64, warmupJobs: 10_000, windowSeconds: 6, maxJobsPerWindow: 500_000, windows: 3, windowTimeoutMs: 30_000 },
  pickup: { samples: 1000, warmup: 100, gapMs: 10 },
  claim: { inFlight: 100, requests: 30_000, warmup: 3000 },
  depth: { depths: [10_000, 1_000_000], workers: 2, concurrency: 64, warmupJobs: 5000, jobsPerWindow: 10_000, windows: 5, windowTimeoutMs: 30_000 },
  overhead: { warmup: 1000, sequential: 2000, concurrent: 6000, inFlight: 100 },
  engine: { seedJobs: 1_000_000, workers: 4, batch: 64, warmupSeconds: 1, windowSeconds: 4, windows: 3 },
  // 7 rounds: on this disk single runs of the same 2,000-file copy range from 0.1 to 1.0 s, in
  // phases lasting several runs; with 5, one phase change moved a median by a tenth.
  storage: { bigFileBytes: 200_000_000, smallFiles: 2000, smallFileBytes: 50_000, repeats: 7, concurrency: 8 },
  // 5 rounds: single rounds of crawl.wat drift by ±20% on a shared VM, 3 left the median at the mercy of one.
  crawl: { watBytes: 200_000_000, repeats: 5, images: 1000 },
  download: { largeBytes: 1_000_000_000, smallFiles: 10_000, smallBytes: 10_000, concurrency: 16, workers: 1, repeats: 3 },
  hub: { largeBytes: 1_000_000_000, smallFiles: 10_000, smallBytes: 10_000, concurrency: 16, repeats: 3, manifestFiles: 100_000, manifestSamples: 5 },
};

export const QUICK: Sizes = {
  inflight: { workerCounts: [2], warmupJobs: 500, windowSeconds: 2, maxJobsPerWindow: 20_000, windows: 1, windowTimeoutMs: 20_000 },
  batched: { workerCounts: [2], concurrency: 64, warmupJobs: 2000, windowSeconds: 2, maxJobsPerWindow: 50_000, windows: 1, windowTimeoutMs: 20_000 },
  pickup: { samples: 200, warmup: 20, gapMs: 10 },
  claim: { inFlight: 100, requests: 3000, warmup: 500 },
  depth: { depths: [10_000, 100_000], workers: 2, concurrency: 64, warmupJobs: 1000, jobsPerWindow: 5000, windows: 1, windowTimeoutMs: 20_000 },
  overhead: { warmup: 500, sequential: 500, concurrent: 2000, inFlight: 100 },
  engine: { seedJobs: 200_000, workers: 4, batch: 64, warmupSeconds: 0.5, windowSeconds: 1, windows: 1 },
  // The issue's shapes at full size (they are the point); only the repeats shrink.
  storage: { bigFileBytes: 200_000_000, smallFiles: 2000, smallFileBytes: 50_000, repeats: 1, concurrency: 8 },
  crawl: { watBytes: 50_000_000, repeats: 3, images: 200 },
  download: { largeBytes: 200_000_000, smallFiles: 2000, smallBytes: 10_000, concurrency: 16, workers: 1, repeats: 1 },
  hub: { largeBytes: 200_000_000, smallFiles: 2000, smallBytes: 10_000, concurrency: 16, repeats: 1, manifestFiles: 20_000, manifestSamples: 3 },
};

/** Group names replaced by their scenarios; duplicates dropped; the order of SCENARIOS kept. */
export function expandGroups(names: readonly (ScenarioName | GroupName)[]): ScenarioName[] {
  const chosen = new Set<ScenarioName>(names.flatMap((n): readonly ScenarioName[] => (n in SCENARIO_GROUPS ? SCENARIO_GROUPS[n as GroupName] : [n as ScenarioName])));
  return SCENARIOS.filter((s) => chosen.has(s));
}

const flag = z.union([z.boolean(), z.enum(["1", "0", "true", "false", ""]).transform((v) => v === "1" || v === "true")]);

const BenchConfigSchema = z.strictObject({
  /** A short smoke run with small counts (--quick, BENCH_QUICK=1); default false: the full run. */
  quick: flag.default(false),
  /** Scenarios to run (--only a,b or BENCH_ONLY; `storage` = every storage-*, `crawl` = crawl-*, `download` = download-*, `hub` = hub-*); default all, in the order of SCENARIOS. */
  only: z
    .string()
    .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(SELECTABLE)).min(1))
    .transform(expandGroups)
    .optional(),
  /** Write a V8 CPU profile of each coordinator (--profile, BENCH_PROFILE=1); default false. */
  profile: flag.default(false),
  /** Where the JSON goes (--out, BENCH_OUT); default tools/bench/results/latest.json. */
  out: z.string().min(1).default(resolve(ROOT, "tools/bench/results/latest.json")),
});

export interface BenchConfig {
  quick: boolean;
  scenarios: ScenarioName[];
  /** Directory for coordinator CPU profiles, when profiling. */
  profileDir: string | undefined;
  out: string;
  sizes: Sizes;
}

/** Flags win over env; a bad value stops the run with the setting named. */
export function parseBenchConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: "boolean" }, only: { type: "string" }, profile: { type: "boolean" }, out: { type: "string" } },
    strict: true,
  });
  const fromEnv = { quick: env.BENCH_QUICK, only: env.BENCH_ONLY, profile: env.BENCH_PROFILE, out: env.BENCH_OUT };
  const merged = Object.fromEntries(
    Object.keys(fromEnv).map((k) => [k, (values as Record<string, unknown>)[k] ?? fromEnv[k as keyof typeof fromEnv] ?? undefined]),
  );
  const parsed = BenchConfigSchema.safeParse(Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined && v !== "")));
  if (!parsed.success) {
    const text = parsed.error.issues.map((i) => `${i.path.join(".") || "(config)"}: ${i.message}`).join("; ");
    throw new Error(`bench: invalid configuration: ${text} (flags --quick --only=${SELECTABLE.join(",")} --profile --out=FILE; env BENCH_*)`);
  }
  const c = parsed.data;
  return {
    quick: c.quick,
    scenarios: c.only ?? [...SCENARIOS],
    profileDir: c.profile ? resolve(dirname(c.out), "profiles") : undefined,
    out: resolve(c.out),
    sizes: c.quick ? QUICK : FULL,
  };
}
