import { describe, expect, it } from "vitest";
import {
  ATTRIBUTE_TYPES,
  AttributeType,
  MAX_CHAR_LENGTH,
  formatAttributeValue,
  inferAttributeType,
  parseAttributeValue,
  type AttributeValue,
} from "../src/attributes.ts";

const accepts: [AttributeType, unknown, AttributeValue][] = [
  ["char", "hello", "hello"],
  ["char", "  spaced  ", "  spaced  "],
  ["char", "", ""],
  ["char", "x".repeat(MAX_CHAR_LENGTH), "x".repeat(MAX_CHAR_LENGTH)],
  ["int", 42, 42],
  ["int", 4.0, 4],
  ["int", -0, 0],
  ["int", "42", 42],
  ["int", " -7 ", -7],
  ["int", "+3", 3],
  ["int", "007", 7],
  ["int", 12n, 12],
  ["int", Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ["float", 3.5, 3.5],
  ["float", 3, 3],
  ["float", "3.14", 3.14],
  ["float", "-1.5e-3", -0.0015],
  ["float", "1E5", 100000],
  ["float", ".5", 0.5],
  ["float", "-0", 0],
  ["bool", true, true],
  ["bool", false, false],
  ["bool", "TRUE", true],
  ["bool", "no", false],
  ["bool", " Yes ", true],
  ["bool", "1", true],
  ["bool", "0", false],
  ["bool", 1, true],
  ["bool", 0, false],
  ["url", "https://example.com", "https://example.com"],
  ["url", " s3://bucket/a/b.tar ", "s3://bucket/a/b.tar"],
  ["url", "gs://bucket/x", "gs://bucket/x"],
  ["url", "file:///tmp/x", "file:///tmp/x"],
  ["url", "ftp://host:21/path", "ftp://host:21/path"],
  ["url", "https://h/x?X-Amz-Signature=a%2Fb", "https://h/x?X-Amz-Signature=a%2Fb"],
  ["date", "2024-02-29", "2024-02-29"],
  ["date", " 2000-02-29 ", "2000-02-29"],
  ["date", "0001-01-01", "0001-01-01"],
  ["datetime", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.000Z"],
  ["datetime", "2024-05-01t12:00:00z", "2024-05-01T12:00:00.000Z"],
  ["datetime", "2024-05-01 12:00Z", "2024-05-01T12:00:00.000Z"],
  ["datetime", "2024-05-01T12:00:00.123456+05:30", "2024-05-01T06:30:00.123Z"],
  ["datetime", "2024-05-01T12:00:00,5-0200", "2024-05-01T14:00:00.500Z"],
  ["datetime", "2024-12-31T23:30:00-01", "2025-01-01T00:30:00.000Z"],
  ["datetime", "0050-01-01T00:00:00Z", "0050-01-01T00:00:00.000Z"],
  ["datetime", new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)), "2024-01-02T03:04:05.006Z"],
  ["filesize", 0, 0],
  ["filesize", 512, 512],
  ["filesize", "512", 512],
  ["filesize", "512 B", 512],
  ["filesize", "512.0", 512],
  ["filesize", "10 KB", 10_000],
  ["filesize", "3MB", 3_000_000],
  ["filesize", "1.5 GiB", 1.5 * 1024 ** 3],
  ["filesize", "2 kib", 2048],
  ["filesize", "10k", 10_000],
  ["filesize", "4 Ki", 4096],
  ["filesize", "0.1 KB", 100],
  ["filesize", "1.1 KiB", 1126], // 1126.4 rounds to the nearest byte
  ["filesize", "2 TB", 2e12],
  ["lat-long", "12.5,-3.25", { lat: 12.5, lng: -3.25 }],
  ["lat-long", " 12.5 , -3.25 ", { lat: 12.5, lng: -3.25 }],
  ["lat-long", "90,180", { lat: 90, lng: 180 }],
  ["lat-long", [-90, -180], { lat: -90, lng: -180 }],
  ["lat-long", { lat: 1, lng: 2 }, { lat: 1, lng: 2 }],
  ["lat-long", { lat: 1, lon: 2 }, { lat: 1, lng: 2 }],
  ["lat-long", { latitude: 1, longitude: 2 }, { lat: 1, lng: 2 }],
  ["lat-long", [-0, 0], { lat: 0, lng: 0 }],
];

const refuses: [AttributeType, unknown, RegExp][] = [
  ["char", 42, /^expected a string, got 42$/],
  ["char", true, /expected a string, got true/],
  ["char", null, /expected a string, got null/],
  ["char", { a: 1 }, /got an object/],
  ["char", [1, 2], /got an array of 2/],
  ["char", "x".repeat(MAX_CHAR_LENGTH + 1), /at most 10000 characters, got 10001 characters/],
  ["int", "4.2", /expected an integer such as 42, got "4.2"/],
  ["int", 4.2, /an integer/],
  ["int", "1_000", /an integer/],
  ["int", "1e3", /an integer/],
  ["int", "0x10", /an integer/],
  ["int", "", /an integer/],
  ["int", "9007199254740992", /between -9007199254740991 and 9007199254740991/],
  ["int", 1e20, /between/],
  ["int", true, /an integer/],
  ["float", Number.NaN, /a finite number/],
  ["float", Number.POSITIVE_INFINITY, /a finite number/],
  ["float", "Infinity", /a finite number/],
  ["float", "1e999", /a finite number/],
  ["float", "", /a finite number/],
  ["float", "0x10", /a finite number/],
  ["float", "1,5", /a finite number/],
  ["float", null, /a number/],
  ["bool", "maybe", /true or false/],
  ["bool", 2, /true or false/],
  ["bool", "", /true or false/],
  ["bool", null, /true or false/],
  ["url", "example.com", /an absolute URL/],
  ["url", "localhost:8080", /an absolute URL/],
  ["url", "C:\\dir\\file", /an absolute URL/],
  ["url", "mailto:a@b.c", /an absolute URL/],
  ["url", "https://", /an absolute URL/],
  ["url", "https://exa mple.com", /an absolute URL/],
  ["url", "https://a:b:c", /an absolute URL/],
  ["url", 42, /an absolute URL/],
  ["url", `https://h/${"x".repeat(MAX_CHAR_LENGTH)}`, /a URL of at most 10000 characters/],
  ["date", "2023-02-29", /a real calendar date, got "2023-02-29"/],
  ["date", "2024-02-30", /a real calendar date/],
  ["date", "2024-13-01", /a real calendar date/],
  ["date", "2024-00-10", /a real calendar date/],
  ["date", "1900-02-29", /a real calendar date/],
  ["date", "2024-1-2", /a date as YYYY-MM-DD/],
  ["date", "2024-01-02T00:00:00Z", /a date as YYYY-MM-DD/],
  ["date", 20240102, /a date as YYYY-MM-DD/],
  ["datetime", "2024-05-01T12:00:00", /a time zone \(Z or ±HH:MM\)/],
  ["datetime", "2024-05-01", /an ISO 8601 date-time/],
  ["datetime", 1714564800000, /an ISO 8601 date-time/],
  ["datetime", "2024-02-30T00:00:00Z", /a real calendar date/],
  ["datetime", "2024-05-01T24:00:00Z", /a time of day/],
  ["datetime", "2024-05-01T12:60:00Z", /a time of day/],
  ["datetime", "2024-05-01T23:59:60Z", /a time of day/],
  ["datetime", "2024-05-01T12:00:00+24:00", /offset/],
  ["datetime", "9999-12-31T23:00:00-05:00", /years 0000-9999/],
  ["datetime", new Date(Number.NaN), /a valid Date/],
  ["filesize", -1, /non-negative/],
  ["filesize", 1.5, /whole, non-negative/],
  ["filesize", "512.5", /a whole number of bytes/],
  ["filesize", "512.5 B", /a whole number of bytes/],
  ["filesize", "-5 KB", /a size in bytes/],
  ["filesize", "10 XB", /a size in bytes/],
  ["filesize", "1e6", /a size in bytes/],
  ["filesize", "8 PiB", /at most 9007199254740991 bytes/],
  ["filesize", "", /a size in bytes/],
  ["filesize", true, /a size in bytes/],
  ["lat-long", "95,10", /a latitude from -90 to 90, got 95/],
  ["lat-long", "10,-181", /a longitude from -180 to 180, got -181/],
  ["lat-long", "12.5", /a position/],
  ["lat-long", "1,2,3", /a position/],
  ["lat-long", "a,b", /a position/],
  ["lat-long", [1], /a position/],
  ["lat-long", ["1", "2"], /finite numbers/],
  ["lat-long", [Number.NaN, 2], /finite numbers/],
  ["lat-long", { lat: 1 }, /a position/],
  ["lat-long", { lat: 1, lng: 2, alt: 3 }, /a position/],
  ["lat-long", { latitude: 1, lng: 2 }, /a position/],
  ["lat-long", null, /a position/],
];

describe("parseAttributeValue", () => {
  it.each(accepts)("%s accepts %o", (type, raw, value) => {
    expect(parseAttributeValue(type, raw)).toEqual({ ok: true, value });
  });

  it.each(refuses)("%s refuses %o", (type, raw, message) => {
    const result = parseAttributeValue(type, raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it("covers every type with accept and refuse cases", () => {
    for (const type of ATTRIBUTE_TYPES) {
      expect(accepts.some(([t]) => t === type), type).toBe(true);
      expect(refuses.some(([t]) => t === type), type).toBe(true);
    }
  });

  it("never returns -0, which JSON would store as 0 anyway", () => {
    for (const type of ["int", "float"] as const) {
      const r = parseAttributeValue(type, "-0");
      expect(r.ok && Object.is(r.value, 0), type).toBe(true);
    }
  });

  it("names long raw strings without echoing them whole", () => {
    const r = parseAttributeValue("int", "y".repeat(500));
    expect(!r.ok && r.message.length).toBeLessThan(100);
  });
});

describe("AttributeType", () => {
  it("is the zod enum of ATTRIBUTE_TYPES", () => {
    expect(AttributeType.options).toEqual([...ATTRIBUTE_TYPES]);
    expect(AttributeType.safeParse("lat-long").success).toBe(true);
    expect(AttributeType.safeParse("string").success).toBe(false);
  });
});

const inferred: [unknown, AttributeType][] = [
  ["true", "bool"],
  ["FALSE", "bool"],
  ["yes", "char"],
  ["no", "char"],
  ["42", "int"],
  [" -7 ", "int"],
  ["0", "int"],
  ["1", "int"],
  ["007", "char"], // a leading zero would be lost as a number
  ["02134", "char"],
  ["12345678901234567890", "char"], // past the safe range: digits would be lost
  ["3.14", "float"],
  ["-0.5", "float"],
  ["1e5", "float"],
  ["1.5e400", "float"], // float-shaped; parse then refuses it as not finite
  ["NaN", "char"],
  ["Infinity", "char"],
  ["2024-05-01", "date"],
  ["2023-02-30", "date"], // shape-based: the typo is reported, not stored as text
  ["2024-05-01T12:00:00Z", "datetime"],
  ["2024-05-01 12:00", "datetime"], // then refused for lacking a time zone
  ["12.5,-3.25", "lat-long"],
  ["12.5, 3", "lat-long"],
  ["1,5", "char"], // could be a decimal comma
  ["95.5,10.5", "char"], // not a coordinate
  ["10 MB", "filesize"],
  ["1.5GiB", "filesize"],
  ["2 kib", "filesize"],
  ["7B", "char"], // "7B" is as likely a model size as a byte count
  ["512 B", "char"],
  ["10 K", "char"],
  ["https://example.com/a", "url"],
  ["s3://bucket/key", "url"],
  ["localhost:8080", "char"],
  ["mailto:a@b.c", "char"],
  ["hello world", "char"],
  ["", "char"],
  [true, "bool"],
  [false, "bool"],
  [42, "int"],
  [-0, "int"],
  [4.5, "float"],
  [1e20, "float"],
  [Number.NaN, "float"],
  [12n, "int"],
  [new Date(0), "datetime"],
  [[12.5, -3.25], "lat-long"],
  [{ lat: 1, lng: 2 }, "lat-long"],
  [{ latitude: 1, longitude: 2 }, "lat-long"],
  [[1, 2, 3], "char"],
  [{ a: 1 }, "char"],
  [null, "char"],
  [undefined, "char"],
];

describe("inferAttributeType", () => {
  it.each(inferred)("infers %o as %s", (raw, type) => {
    expect(inferAttributeType(raw)).toBe(type);
  });

  it("infers a type that parses every plain value of the table", () => {
    // The exceptions are the shape-only inferences, which parse is meant to refuse.
    const refusedOnPurpose = new Set<unknown>(["1.5e400", "2023-02-30", "2024-05-01 12:00", Number.NaN]);
    for (const [raw] of inferred) {
      const type = inferAttributeType(raw);
      const result = parseAttributeValue(type, raw);
      const expectOk = !refusedOnPurpose.has(raw) && !(type === "char" && typeof raw !== "string");
      expect(result.ok, `${String(raw)} as ${type}`).toBe(expectOk);
    }
  });
});

const formats: [AttributeType, AttributeValue, string][] = [
  ["char", "  a b ", "  a b "],
  ["int", -7, "-7"],
  ["float", 0.1, "0.1"],
  ["float", 1e21, "1e+21"],
  ["float", 1e-7, "1e-7"],
  ["bool", true, "true"],
  ["url", "s3://b/k", "s3://b/k"],
  ["date", "2024-02-29", "2024-02-29"],
  ["datetime", "2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00.000Z"],
  ["lat-long", { lat: 12.5, lng: -3.25 }, "12.5, -3.25"],
  ["filesize", 0, "0 B"],
  ["filesize", 999, "999 B"],
  ["filesize", 1000, "1 KB"],
  ["filesize", 1001, "1001 B"], // exact in bytes beats a rounded "1 KB"
  ["filesize", 1024, "1 KiB"],
  ["filesize", 1500, "1.5 KB"],
  ["filesize", 1536, "1.5 KiB"],
  ["filesize", 1_234_567, "1.23 MB"],
  ["filesize", 999_999, "1 MB"], // not "1000 KB"
  ["filesize", 10 * 1024 ** 3, "10 GiB"],
  ["filesize", 2e12, "2 TB"],
  ["filesize", Number.MAX_SAFE_INTEGER, "9 PB"], // rounded down: "9.01 PB" is past the safe range
  // Stored values that no longer match their type are shown, not thrown on.
  ["int", "abc", "abc"],
  ["char", { lat: 1, lng: 2 }, '{"lat":1,"lng":2}'],
  ["filesize", -3, "-3"],
];

describe("formatAttributeValue", () => {
  it.each(formats)("%s shows %o as %s", (type, value, text) => {
    expect(formatAttributeValue(type, value)).toBe(text);
  });
});

/** mulberry32: a seeded generator, so a failing round-trip case can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("parse(type, format(value)) round-trips", () => {
  const random = rng(20240501);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pad = (n: number, w: number) => String(n).padStart(w, "0");
  const generators: Partial<Record<AttributeType, () => AttributeValue>> = {
    char: () => Array.from({ length: int(0, 30) }, () => String.fromCodePoint(int(32, 0x2fff))).join(""),
    int: () => (random() < 0.1 ? [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0][int(0, 2)]! : int(-1e12, 1e12)),
    float: () => (random() - 0.5) * 10 ** int(-30, 30),
    bool: () => random() < 0.5,
    url: () => `https://h${int(0, 99)}.example/${int(0, 1e6)}?q=${int(0, 9)}`,
    date: () => `${pad(int(0, 9999), 4)}-${pad(int(1, 12), 2)}-${pad(int(1, 28), 2)}`,
    datetime: () => new Date(int(new Date(0).setUTCFullYear(0, 0, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 999))).toISOString(),
    filesize: () => {
      // Exact cases only: bytes, or a whole number of hundredths of an SI or IEC unit.
      if (random() < 0.1) return int(0, 1023);
      if (random() < 0.5) return (int(100, 99_999) * 1000 ** int(1, 4)) / 100;
      return (int(4, 4095) * 25 * 1024 ** int(1, 4)) / 100;
    },
    "lat-long": () => ({ lat: (random() - 0.5) * 180, lng: (random() - 0.5) * 360 }),
  };

  it.each(Object.keys(generators) as AttributeType[])("%s", (type) => {
    for (let i = 0; i < 500; i++) {
      const value = generators[type]!();
      const text = formatAttributeValue(type, value);
      expect(parseAttributeValue(type, text), `${JSON.stringify(value)} shown as ${text}`).toEqual({ ok: true, value });
    }
  });

  it("filesize stays within 0.5% when the shown size is rounded", () => {
    for (let i = 0; i < 500; i++) {
      const bytes = int(1000, Number.MAX_SAFE_INTEGER);
      const back = parseAttributeValue("filesize", formatAttributeValue("filesize", bytes));
      expect(back.ok && Math.abs((back.value as number) - bytes) / bytes).toBeLessThan(0.005);
    }
  });
});
