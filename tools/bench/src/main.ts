// `npm run bench`: the Drover benchmark (issue 2). Runs each scenario against its own
// coordinator process with worker processes over real HTTP on 127.0.0.1, prints a table
// and the JSON, and writes the JSON to tools/bench/results/latest.json.
import { arch, cpus, platform, release, totalmem } from "node:os";
import { parseBenchConfig, type BenchConfig, type ScenarioName } from "./config.ts";
import { liveChildren } from "./processes.ts";
import { buildReport, formatTable, writeReport, type ScenarioResult } from "./report.ts";
import { batchedScenario } from "./scenarios/batched.ts";
import { claimScenario } from "./scenarios/claim.ts";
import { depthScenario } from "./scenarios/depth.ts";
import { inflightScenario } from "./scenarios/inflight.ts";
import { overheadScenario } from "./scenarios/overhead.ts";
import { pickupScenario } from "./scenarios/pickup.ts";

type Scenario = (config: BenchConfig, log: (line: string) => void) => Promise<ScenarioResult>;

const SCENARIO_RUNNERS: Record<ScenarioName, Scenario> = {
  inflight: inflightScenario,
  batched: batchedScenario,
  pickup: pickupScenario,
  claim: claimScenario,
  depth: depthScenario,
  overhead: overheadScenario,
};

async function main(): Promise<number> {
  const config = parseBenchConfig();
  const started = new Date();
  const t0 = performance.now();
  const log = (line: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  log(`drover bench (${config.quick ? "quick" : "full"}): ${config.scenarios.join(", ")}`);

  const results: ScenarioResult[] = [];
  const errors: { scenario: string; message: string }[] = [];
  for (const name of config.scenarios) {
    try {
      results.push(await SCENARIO_RUNNERS[name](config, log));
    } catch (error) {
      // One broken scenario must not hide the others' figures; the exit code reports it.
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`${name} FAILED: ${message}`);
      errors.push({ scenario: name, message });
    }
  }

  const report = buildReport({
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    durationSec: Math.round((performance.now() - t0) / 100) / 10,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), platform: platform(), release: release(), arch: arch(), node: process.version },
    config: { quick: config.quick, scenarios: config.scenarios, profileDir: config.profileDir, sizes: config.sizes },
    results,
    errors,
  });
  writeReport(config.out, report);
  console.log(`\n${formatTable(report.table)}\n`);
  console.log(JSON.stringify(report, null, 2));
  log(`wrote ${config.out}${config.profileDir ? `; coordinator CPU profiles in ${config.profileDir}` : ""}`);
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
