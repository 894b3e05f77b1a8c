/** Prints rows as an aligned text table (or JSON with --json). */
export function printTable(rows: Record<string, unknown>[], columns?: string[]): void {
  if (rows.length === 0) {
    console.log("(none)");
    return;
  }
  const cols = columns ?? Object.keys(rows[0]!);
  const cells = rows.map((r) => cols.map((c) => format(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  console.log(cols.map((c, i) => c.toUpperCase().padEnd(widths[i]!)).join("  "));
  for (const row of cells) console.log(row.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd());
}

export function format(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export function when(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString() : "-";
}
