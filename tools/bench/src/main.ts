// `npm run bench`: the Drover benchmark (issue 2). Runs each scenario against its own
// coordinator process with worker processes over real HTTP on 127.0.0.1, prints a table
// and the JSON, and writes the JSON to tools/bench/results/latest.json. The storage-*
// scenarios (issue 3) time @drover/storage against cp, rsync and rclone on loopback servers;
// the crawl-* scenarios (issue 4) time the crawl.wat parser against zcat and crawl.images on loopback;
// the download-* scenarios (issue 5) time download.url jobs through the coordinator against aria2c.
import { arch, cpus, platform, release, totalmem } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parseBenchConfig, type BenchConfig, type ScenarioName } from "./config.ts";
import { cpuMark, foreignCpuPercent, referenceWorkMs } from "./machine.ts";
import { liveChildren, ROOT } from "./processes.ts";
import { codeState, sameCode } from "./provenance.ts";
import { buildReport, formatTable, writeReport, type ScenarioResult } from "./report.ts";
import { batchedScenario } from "./scenarios/batched.ts";
import { claimScenario } from "./scenarios/claim.ts";
import { crawlImagesScenario, crawlWatScenario } from "./scenarios/crawl.ts";
import { depthScenario } from "./scenarios/depth.ts";
import { engineScenario } from "./scenarios/engine.ts";
import { downloadLargeScenario, downloadSmallScenario } from "./scenarios/download.ts";
import { hubLargeScenario, hubManifestScenario, hubSmallScenario } from "./scenarios/hub.ts";
import { inflightScenario } from "./scenarios/inflight.ts";
import { overheadScenario } from "./scenarios/overhead.ts";
import { pickupScenario } from "./scenarios/pickup.ts";
import { storageScenario } from "./scenarios/storage.ts";

type Scenario = (config: BenchConfig, log: (line: string) => void) => Promise<ScenarioResult>;

const SCENARIO_RUNNERS: Record<ScenarioName, Scenario> = {
  inflight: inflightScenario,
  batched: batchedScenario,
  pickup: pickupScenario,
  claim: claimScenario,
  depth: depthScenario,
  overhead: overheadScenario,
  engine: engineScenario,
  "storage-local": storageScenario("local"),
  "storage-s3": storageScenario("s3"),
  "storage-rsync": storageScenario("rsync"),
  "storage-gcs": storageScenario("gcs"),
  "crawl-wat": crawlWatScenario,
  "crawl-images": crawlImagesScenario,
  "download-large": downloadLargeScenario,
  "download-small": downloadSmallScenario,
  "hub-large": hubLargeScenario,
  "hub-small": hubSmallScenario,
  "hub-manifest": hubManifestScenario,
};

async function main(): Promise<number> {
  const config = parseBenchConfig();
  const started = new Date();
  const t0 = performance.now();
  const log = (line: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  const codeAtStart = codeState(ROOT);
  log(`drover bench (${config.quick ? "quick" : "full"}): ${config.scenarios.join(", ")}`);
  log(`code: commit ${codeAtStart.commit ?? "?"}${codeAtStart.dirtyFiles.length ? ` + ${codeAtStart.dirtyFiles.length} uncommitted files under apps/, libs/ (digest ${codeAtStart.dirtyDigest})` : ", clean"}`);

  const referenceBefore = referenceWorkMs();
  const before = cpuMark();
  await sleep(2000);
  const idleLoad = foreignCpuPercent(before, cpuMark());
  if (idleLoad !== undefined && idleLoad > 20) log(`warning: other processes are using ${idleLoad.toFixed(0)}% of a core before we start; figures will be low`);

  const results: ScenarioResult[] = [];
  const errors: { scenario: string; message: string }[] = [];
  const interference: Record<string, number | undefined> = { beforeStart: idleLoad };
  const codeChangedDuring: string[] = [];
  for (const name of config.scenarios) {
    const from = cpuMark();
    try {
      results.push(await SCENARIO_RUNNERS[name](config, log));
    } catch (error) {
      // One broken scenario must not hide the others' figures; the exit code reports it.
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`${name} FAILED: ${message}`);
      errors.push({ scenario: name, message });
    } finally {
      // CPU that processes outside this benchmark used meanwhile, in % of one core.
      interference[name] = foreignCpuPercent(from, cpuMark());
      const other = interference[name];
      if (other !== undefined && other > 10) log(`warning: other processes used ${other.toFixed(0)}% of a core during ${name}; its figures are perturbed`);
      if (!sameCode(codeAtStart, codeState(ROOT))) {
        codeChangedDuring.push(name);
        log(`warning: the code under apps/ or libs/ changed by the end of ${name}; its figures may mix two versions`);
      }
    }
  }

  const reference = { beforeMs: referenceBefore, afterMs: referenceWorkMs() };
  log(`reference CPU work: ${reference.beforeMs.toFixed(0)} ms before, ${reference.afterMs.toFixed(0)} ms after (same work; a slower machine takes longer)`);
  const report = buildReport({
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    durationSec: Math.round((performance.now() - t0) / 100) / 10,
    machine: { referenceWork: reference, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), platform: platform(), release: release(), arch: arch(), node: process.version },
    config: { quick: config.quick, scenarios: config.scenarios, profileDir: config.profileDir, sizes: config.sizes },
    interference,
    code: { atStart: codeAtStart, atEnd: codeState(ROOT), changedDuring: codeChangedDuring },
    results,
    errors,
  });
  writeReport(config.out, report);
  const others = Object.entries(interference).map(([k, v]) => `${k} ${v === undefined ? "n/a" : `${v.toFixed(0)}%`}`).join(", ");
  console.log(`\n${formatTable(report.table)}\n\nCPU used by other processes on this machine, % of one core: ${others}\n`);
  console.log(JSON.stringify(report, null, 2));
  log(`wrote ${config.out}${config.profileDir ? `; CPU profiles of every coordinator and worker in ${config.profileDir}` : ""}`);
  if (liveChildren() > 0) log(`warning: ${liveChildren()} child processes still running; they are killed at exit`);
  return errors.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
