// Where a process's CPU time went, from a V8 .cpuprofile (`npm run bench -- --profile`
// writes one per coordinator). Usage:
//   npx tsx tools/bench/src/profile-summary.ts FILE.cpuprofile [top] [skipSeconds]
// Prints self time by package (node_modules/<pkg>, the workspace's own dirs, node internals,
// GC, idle) and the top functions by self time; `skipSeconds` drops the start (module
// loading) so that only the steady state is counted.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Buckets a script URL: a package under node_modules, a workspace dir, node internals, or V8. */
export function bucketOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const ws = /\/(apps|libs|tools)\/([^/]+)\//.exec(url);
  if (ws) return `${ws[1]}/${ws[2]}`;
  return url;
}

export function summarizeProfile(profile: CpuProfile, top = 25, skipSeconds = 0): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let clock = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    clock += delta;
    if (clock >= skipSeconds * 1e6) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const buckets = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const bucket = bucketOf(url, functionName);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us);
    const key = `${functionName || "(anonymous)"}  ${url.replace(/^.*\/(node_modules|apps|libs|tools)\//, "$1/")}:${lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const lines = [`total ${(total / 1e6).toFixed(2)} s sampled`, "", "self time by package:"];
  for (const [b, us] of [...buckets].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${b}`);
  lines.push("", "self time by function:");
  for (const [f, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${f}`);
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top, skip] = process.argv.slice(2);
  if (!file) {
    console.error("usage: profile-summary.ts FILE.cpuprofile [top] [skipSeconds]");
    process.exit(2);
  }
  console.log(summarizeProfile(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, top ? Number(top) : 25, skip ? Number(skip) : 0));
}
