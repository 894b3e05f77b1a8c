import { InvalidArgumentError } from "commander";

export function parseIntArg(name: string) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
    return Number(value);
  };
}

export function parseJsonArg(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError("must be valid JSON");
  }
}

/** "2026-01-01T00:00:00Z", "+30s", "+5m", "+2h" or epoch ms → epoch ms. */
export function parseTimeArg(value: string): number {
  const rel = /^\+(\d+)(ms|s|m|h|d)$/.exec(value);
  if (rel) return Date.now() + Number(rel[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as "s"];
  if (/^\d+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError("must be an ISO time, epoch ms, or +N(s|m|h|d)");
  return t;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((s) => s.trim()).filter(Boolean)];
}
