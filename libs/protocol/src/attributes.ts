import { z } from "zod";

/*
 * Typed item attributes: what a value of each type may look like on the way in (JSON from
 * the API, or a string from the CLI), what is stored, and how a table shows it.
 *
 * | type     | accepted raw values                                            | stored value                |
 * |----------|----------------------------------------------------------------|-----------------------------|
 * | char     | strings only, up to MAX_CHAR_LENGTH UTF-16 units, kept as is   | the string                  |
 * | int      | safe integers; decimal strings "42", "-7", "007"               | number                      |
 * | float    | finite numbers; decimal strings, exponent allowed ("1e-3")     | number (-0 becomes 0)       |
 * | bool     | true/false; strings true/false/yes/no/1/0 (any case); 1, 0     | boolean                     |
 * | url      | "scheme://…" that WHATWG URL parses, no whitespace inside      | the trimmed string as given |
 * | date     | "YYYY-MM-DD", a real calendar date                             | "YYYY-MM-DD"                |
 * | datetime | ISO 8601 date and time WITH Z or ±HH[:MM]; a Date object       | "YYYY-MM-DDTHH:MM:SS.sssZ"  |
 * | filesize | non-negative safe integers; "512", "10 KB", "1.5GiB", "2 kib"  | integer bytes               |
 * | lat-long | "lat,lng"; [lat, lng]; {lat,lng}, {lat,lon}, {latitude,longitude} | { lat, lng }             |
 *
 * Rules that must hold, and why:
 * - Strings of every non-char type are trimmed; char keeps its spaces because they may matter.
 * - int refuses "4.2", "1_000", "1e3" and "0x10": a separator or notation is a typo more often
 *   than not. A JSON 4.0 is accepted: JSON cannot tell it from 4.
 * - datetime without an offset is refused, not read as UTC: the same text means another
 *   instant on a machine in another zone. Epoch numbers are refused too: seconds and
 *   milliseconds cannot be told apart. Fractions below a millisecond are truncated.
 * - url keeps the text as given rather than URL.href: re-encoding would break signed URLs,
 *   and href adds a trailing "/" that the user never wrote. Only "scheme://" forms are URLs,
 *   so "localhost:8080" and "C:\dir" are refused rather than read as schemes.
 * - filesize: KB/MB/GB/TB/PB are powers of 1000, KiB/MiB/… powers of 1024, case is ignored,
 *   "B" is optional, and "b" is bytes, never bits. A multiplied fraction ("1.1 KiB") is rounded
 *   to the nearest byte; a fractional number of plain bytes ("512.5") is refused.
 * - lat-long: lat in [-90, 90], lng in [-180, 180]; an object with any other key is refused.
 *
 * Inference (inferAttributeType) for strings, first match wins, on the trimmed text:
 *   "true"/"false" (any case; not yes/no/1/0, which are as likely to be text or numbers)
 *   → int ("42"; no leading zeros, within the safe range) → float ("3.5", "1e-3")
 *   → date (shape YYYY-MM-DD) → datetime (shape YYYY-MM-DDTHH:MM…) → lat-long ("12.5,-3.25",
 *   in range) → filesize (only with a multiplied unit ending in B: "10 MB"; bare "7B" is text)
 *   → url ("scheme://…") → char.
 * Values a number would change stay char: "007", "02134", 20-digit ids. Date, datetime,
 * filesize and url are inferred by shape, so "2023-02-30" is inferred as date and then refused
 * by parseAttributeValue: a typo is reported instead of being stored as text.
 * Non-strings: boolean → bool, safe integer (or bigint) → int, other number → float,
 * Date → datetime, [number, number] or an object with lat/lng keys → lat-long, else char
 * (which parseAttributeValue then refuses, naming what it got).
 */

export const ATTRIBUTE_TYPES = ["char", "int", "float", "bool", "url", "date", "datetime", "filesize", "lat-long"] as const;
export const AttributeType = z.enum(ATTRIBUTE_TYPES);
export type AttributeType = z.infer<typeof AttributeType>;

/** The stored (normalized) JSON value for each type. */
export type AttributeValue = string | number | boolean | { lat: number; lng: number };

export type ParseAttributeResult = { ok: true; value: AttributeValue } | { ok: false; message: string };

/** Longest char (and url) value, in UTF-16 units; bigger text belongs in storage. */
export const MAX_CHAR_LENGTH = 10_000;

const EXPECTED: Record<AttributeType, string> = {
  char: "a string",
  int: "an integer such as 42",
  float: "a number such as 3.14",
  bool: "true or false (or yes/no, 1/0)",
  url: "an absolute URL such as https://example.com/a",
  date: "a date as YYYY-MM-DD",
  datetime: "an ISO 8601 date-time with a time zone, such as 2024-05-01T12:00:00Z",
  filesize: "a size in bytes such as 512, 10 KB or 1.5 GiB",
  "lat-long": 'a position as "lat,lng", [lat, lng] or {lat, lng}',
};

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?)?$/i;
const FILESIZE = /^(\d+(?:\.\d*)?|\.\d+)\s*(?:([kmgtp])(i?))?(b?)$/i;
const URL_SHAPE = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i;
const LAT_LONG_KEYS = [["lat", "lng"], ["lat", "lon"], ["latitude", "longitude"]] as const;
const UNIT_POWER: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 };

const ok = (value: AttributeValue): ParseAttributeResult => ({ ok: true, value });
const refuse = (expected: string, raw: unknown): ParseAttributeResult => ({ ok: false, message: `expected ${expected}, got ${describe(raw)}` });
const tooLong = (what: string, length: number): ParseAttributeResult => ({
  ok: false,
  message: `expected ${what} of at most ${MAX_CHAR_LENGTH} characters, got ${length} characters`,
});

/** Names a raw value in an error message without echoing a huge string. */
function describe(raw: unknown): string {
  if (typeof raw === "string") return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 37)}...` : raw);
  if (typeof raw === "bigint") return `${raw}n`;
  if (raw === null || typeof raw !== "object") return String(raw);
  if (Array.isArray(raw)) return `an array of ${raw.length}`;
  return raw instanceof Date ? "a Date" : "an object";
}

const noNegativeZero = (n: number): number => (Object.is(n, -0) ? 0 : n);

function isRealDate(y: number, m: number, d: number): boolean {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  return days !== undefined && d >= 1 && d <= days;
}

/** UTC ISO string of a Date, or undefined outside years 0000–9999, which the format cannot hold. */
function isoOf(date: Date): string | undefined {
  if (Number.isNaN(date.getTime())) return undefined;
  const iso = date.toISOString();
  return /^\d{4}-/.test(iso) ? iso : undefined;
}

function parseInteger(raw: unknown): ParseAttributeResult {
  let n: number;
  if (typeof raw === "number") n = raw;
  else if (typeof raw === "bigint") n = Number(raw);
  else if (typeof raw === "string" && INT.test(raw.trim())) n = Number(raw.trim());
  else return refuse(EXPECTED.int, raw);
  if (Number.isSafeInteger(n)) return ok(noNegativeZero(n));
  if (Number.isInteger(n)) return refuse(`an integer between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`, raw);
  return refuse(EXPECTED.int, raw);
}

function parseNumber(raw: unknown): ParseAttributeResult {
  const n = typeof raw === "number" ? raw : typeof raw === "string" && FLOAT.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (Number.isFinite(n)) return ok(noNegativeZero(n));
  return refuse(typeof raw === "number" || typeof raw === "string" ? "a finite number such as 3.14" : EXPECTED.float, raw);
}

function parseBool(raw: unknown): ParseAttributeResult {
  if (typeof raw === "boolean") return ok(raw);
  if (raw === 1 || raw === 0) return ok(raw === 1);
  const s = typeof raw === "string" ? raw.trim().toLowerCase() : "";
  if (s === "true" || s === "yes" || s === "1") return ok(true);
  if (s === "false" || s === "no" || s === "0") return ok(false);
  return refuse(EXPECTED.bool, raw);
}

function parseUrl(raw: unknown): ParseAttributeResult {
  if (typeof raw !== "string") return refuse(EXPECTED.url, raw);
  const s = raw.trim();
  if (s.length > MAX_CHAR_LENGTH) return tooLong("a URL", s.length);
  if (!URL_SHAPE.test(s)) return refuse(EXPECTED.url, raw);
  try {
    new URL(s);
  } catch {
    return refuse(EXPECTED.url, raw);
  }
  return ok(s);
}

function parseDate(raw: unknown): ParseAttributeResult {
  const s = typeof raw === "string" ? raw.trim() : "";
  const m = DATE.exec(s);
  if (!m) return refuse(EXPECTED.date, raw);
  if (!isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))) return refuse("a real calendar date", raw);
  return ok(s);
}

function parseDatetime(raw: unknown): ParseAttributeResult {
  if (raw instanceof Date) {
    const iso = isoOf(raw);
    return iso ? ok(iso) : refuse("a valid Date in years 0000-9999", raw);
  }
  const m = typeof raw === "string" ? DATETIME.exec(raw.trim()) : null;
  if (!m) return refuse(EXPECTED.datetime, raw);
  const [, y, mo, d, h, mi, s = "0", frac = "", z, sign, oh, om = "0"] = m;
  if (!isRealDate(Number(y), Number(mo), Number(d))) return refuse("a real calendar date", raw);
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return refuse("a time of day from 00:00:00 to 23:59:59", raw);
  if (!z && !sign) return refuse("a time zone (Z or ±HH:MM) in the date-time, such as 2024-05-01T12:00:00Z", raw);
  if (sign && (Number(oh) > 23 || Number(om) > 59)) return refuse("a time zone offset from -23:59 to +23:59", raw);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  const offsetMin = sign ? (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  date.setUTCHours(Number(h), Number(mi) - offsetMin, Number(s), Number(frac.padEnd(3, "0").slice(0, 3)));
  const iso = isoOf(date);
  return iso ? ok(iso) : refuse("a date-time in years 0000-9999 (UTC)", raw);
}

function parseFilesize(raw: unknown): ParseAttributeResult {
  if (typeof raw === "number") {
    return Number.isSafeInteger(raw) && raw >= 0 ? ok(noNegativeZero(raw)) : refuse("a whole, non-negative number of bytes", raw);
  }
  const m = typeof raw === "string" ? FILESIZE.exec(raw.trim()) : null;
  if (!m) return refuse(EXPECTED.filesize, raw);
  const [, num = "", prefix, iec] = m;
  const [whole = "", frac = ""] = num.split(".");
  if (!prefix && /[1-9]/.test(frac)) return refuse("a whole number of bytes", raw);
  // Exact decimal arithmetic: "0.1 KB" must be 100 bytes, not 100.00000000000001.
  const unit = prefix ? BigInt(iec ? 1024 : 1000) ** BigInt(UNIT_POWER[prefix.toLowerCase()] ?? 0) : 1n;
  const scale = 10n ** BigInt(frac.length);
  const bytes = (BigInt(`${whole}${frac}` || "0") * unit * 2n + scale) / (2n * scale);
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) return refuse(`a size of at most ${Number.MAX_SAFE_INTEGER} bytes`, raw);
  return ok(Number(bytes));
}

function parseLatLong(raw: unknown): ParseAttributeResult {
  let pair: [unknown, unknown] | undefined;
  if (typeof raw === "string") {
    const parts = raw.split(",").map((p) => p.trim());
    if (parts.length === 2 && parts.every((p) => FLOAT.test(p))) pair = [Number(parts[0]), Number(parts[1])];
  } else if (Array.isArray(raw)) {
    if (raw.length === 2) pair = [raw[0], raw[1]];
  } else if (raw !== null && typeof raw === "object" && !(raw instanceof Date)) {
    const o = raw as Record<string, unknown>;
    const keys = Object.keys(o).sort().join(",");
    const names = LAT_LONG_KEYS.find((k) => k.join(",") === keys);
    if (names) pair = [o[names[0]], o[names[1]]];
  }
  if (!pair) return refuse(EXPECTED["lat-long"], raw);
  const [lat, lng] = pair;
  if (typeof lat !== "number" || typeof lng !== "number" || !Number.isFinite(lat) || !Number.isFinite(lng)) {
    return refuse("a position whose latitude and longitude are finite numbers", raw);
  }
  if (lat < -90 || lat > 90) return refuse("a latitude from -90 to 90", lat);
  if (lng < -180 || lng > 180) return refuse("a longitude from -180 to 180", lng);
  return ok({ lat: noNegativeZero(lat), lng: noNegativeZero(lng) });
}

/** Checks and normalizes a raw value for a type; the message says what was expected (the caller prefixes the field name). */
export function parseAttributeValue(type: AttributeType, raw: unknown): ParseAttributeResult {
  switch (type) {
    case "char":
      if (typeof raw !== "string") return refuse(EXPECTED.char, raw);
      if (raw.length > MAX_CHAR_LENGTH) return tooLong("a string", raw.length);
      return ok(raw);
    case "int":
      return parseInteger(raw);
    case "float":
      return parseNumber(raw);
    case "bool":
      return parseBool(raw);
    case "url":
      return parseUrl(raw);
    case "date":
      return parseDate(raw);
    case "datetime":
      return parseDatetime(raw);
    case "filesize":
      return parseFilesize(raw);
    case "lat-long":
      return parseLatLong(raw);
  }
}

/** Infers the type of a raw value given without one (from the CLI, usually a string); see the table above. */
export function inferAttributeType(raw: unknown): AttributeType {
  if (typeof raw === "boolean") return "bool";
  if (typeof raw === "bigint") return "int";
  if (typeof raw === "number") return Number.isSafeInteger(raw) ? "int" : "float";
  if (raw instanceof Date) return "datetime";
  if (typeof raw !== "string") return parseLatLong(raw).ok ? "lat-long" : "char";
  const s = raw.trim();
  if (/^(?:true|false)$/i.test(s)) return "bool";
  if (INT.test(s)) {
    // Leading zeros and out-of-range digits would be lost as a number: keep them as text.
    return /^[+-]?(?:0|[1-9]\d*)$/.test(s) && Number.isSafeInteger(Number(s)) ? "int" : "char";
  }
  if (/^[+-]?(?:(?:0|[1-9]\d*)(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?$/i.test(s)) return "float";
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return "date";
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/i.test(s)) return "datetime";
  // "1,5" may be a decimal comma; a coordinate pair needs a decimal point and must be in range.
  if (s.includes(".") && !/e/i.test(s) && parseLatLong(s).ok) return "lat-long";
  const size = FILESIZE.exec(s);
  if (size?.[2] && size[4]) return "filesize";
  if (URL_SHAPE.test(s)) return "url";
  return "char";
}

const SI = ["B", "KB", "MB", "GB", "TB", "PB"] as const;
const IEC = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** A size in the largest unit of a system, with the number of hundredths and whether that is exact. */
function sizeIn(bytes: number, base: 1000 | 1024, units: readonly string[]): { text: string; exact: boolean } {
  let power = 0;
  while (power < units.length - 1 && bytes >= base ** (power + 1)) power++;
  const unit = BigInt(base) ** BigInt(power);
  const exact = (BigInt(bytes) * 100n) % unit === 0n;
  let hundredths = Number((BigInt(bytes) * 200n + unit) / (2n * unit));
  // Near the top of the safe range rounding up would show a size that parse refuses.
  if (BigInt(hundredths) * unit > BigInt(Number.MAX_SAFE_INTEGER) * 100n) hundredths--;
  // 999_999 bytes round to "1000 KB": move to the next unit instead.
  if (hundredths >= base * 100 && power < units.length - 1) {
    power++;
    hundredths = Math.round(hundredths / base);
  }
  return { text: `${hundredths / 100} ${units[power]}`, exact };
}

/**
 * How a stored value is shown in tables. Lossless for every type except filesize, where it
 * is lossless whenever the size is a whole number of hundredths of its SI or IEC unit
 * ("1.5 KB", "10 GiB"); other sizes show SI units rounded to two decimals ("1.23 MB").
 */
export function formatAttributeValue(type: AttributeType, value: AttributeValue): string {
  // A stored value may predate a change of the attribute's type: show it, never throw.
  if (typeof value === "object") {
    return type === "lat-long" && typeof value.lat === "number" ? `${value.lat}, ${value.lng}` : JSON.stringify(value);
  }
  if (type === "filesize" && typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
    if (value < 1000) return `${value} B`;
    const si = sizeIn(value, 1000, SI);
    const iec = sizeIn(value, 1024, IEC);
    return si.exact || !iec.exact ? si.text : iec.text;
  }
  return String(value);
}
