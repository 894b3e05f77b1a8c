import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { round } from "./stats.ts";

/** A goal from issue 2: `value op bound`. */
export interface Target {
  op: ">=" | "<=";
  bound: number;
}

/** One line of the table: a figure measured in this run, and the goal it is held to, if any. */
export interface Row {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  target?: Target | undefined;
}

export interface ScenarioResult {
  name: string;
  rows: Row[];
  /** Everything measured (per-window figures, full latency summaries), for the JSON. */
  detail: unknown;
}

export function met(row: Row): boolean | undefined {
  if (!row.target) return undefined;
  return row.target.op === ">=" ? row.value >= row.target.bound : row.value <= row.target.bound;
}

function fmt(value: number): string {
  return round(value).toLocaleString("en-US", { maximumFractionDigits: 3 });
}

/** The table as plain text, one row per figure, with "target" and "met?" columns. */
export function formatTable(rows: readonly Row[]): string {
  const header = ["scenario", "metric", "value", "unit", "target", "met?"];
  const body = rows.map((r) => {
    const ok = met(r);
    return [r.scenario, r.metric, fmt(r.value), r.unit, r.target ? `${r.target.op} ${fmt(r.target.bound)}` : "", ok === undefined ? "" : ok ? "yes" : "NO"];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => line[i]!.length)));
  const rightAligned = new Set([2]);
  const line = (cells: string[]) => cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export interface Report {
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  machine: Record<string, unknown>;
  config: unknown;
  /** CPU other processes used during each scenario, % of one core (see machine.ts). */
  interference: Record<string, number | undefined>;
  /** The commit and uncommitted changes measured, and the scenarios during which they changed. */
  code: { atStart: unknown; atEnd: unknown; changedDuring: string[] };
  table: (Row & { met?: boolean | undefined })[];
  scenarios: Record<string, unknown>;
  errors: { scenario: string; message: string }[];
}

export function buildReport(args: Omit<Report, "table" | "scenarios"> & { results: ScenarioResult[] }): Report {
  const { results, ...rest } = args;
  return {
    ...rest,
    table: results.flatMap((r) => r.rows.map((row) => ({ ...row, value: round(row.value), met: met(row) }))),
    scenarios: Object.fromEntries(results.map((r) => [r.name, r.detail])),
  };
}

export function writeReport(file: string, report: Report): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}
