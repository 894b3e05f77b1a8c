// download.url's naming rules as plain functions, and its error catalog: every code the
// sources throw is documented in DOWNLOAD_ERROR_DOCS.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOWNLOAD_ERROR_DOCS } from "../src/download/errors.ts";
import { dispositionFileName, fileNameFor, numberedName, sanitizeFileName } from "../src/download/file-name.ts";

describe("dispositionFileName", () => {
  it.each([
    ['attachment; filename="plain.txt"', "plain.txt"],
    ["attachment; filename=unquoted name.txt; size=3", "unquoted name.txt"],
    ['attachment; filename="quo\\"ted.txt"', 'quo"ted.txt'],
    ["attachment; filename*=UTF-8''%E2%82%AC%20rates.txt; filename=\"eur.txt\"", "€ rates.txt"],
    ["attachment; FILENAME*=iso-8859-1'de'%E4rger.txt", "ärger.txt"],
    // An unknown charset or broken encoding falls back to filename=.
    ["attachment; filename*=KOI8-R''%C1; filename=\"safe.txt\"", "safe.txt"],
    ["attachment; filename*=UTF-8''%FF%FE; filename=\"safe.txt\"", "safe.txt"],
    // Raw UTF-8 bytes in filename= (Node reads them as Latin-1).
    [`attachment; filename="${Buffer.from("naïve.txt", "utf8").toString("latin1")}"`, "naïve.txt"],
    // No disposition type at all.
    ['filename="typeless.txt"', "typeless.txt"],
    ["attachment", undefined],
  ])("%j → %j", (header, expected) => {
    expect(dispositionFileName(header)).toBe(expected);
  });
});

describe("sanitizeFileName", () => {
  it.each([
    ["../../etc/passwd", "passwd"],
    ["a\\b.txt", "b.txt"],
    ["..", undefined],
    [".", undefined],
    ["...", undefined],
    ["/", undefined],
    ["  spaced out.txt  ", "spaced out.txt"],
    [".hidden", "hidden"],
    ["trailing dots...", "trailing dots"],
    ["tab\there\u0000.txt", "tabhere.txt"],
    ["invoice\u202Efdp.exe", "invoicefdp.exe"],
    ['a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"],
    ["CON.txt", "_CON.txt"],
    ["nul", "_nul"],
    ["e\u0301te.txt", "\u00e9te.txt"],
  ])("%j → %j", (raw, expected) => {
    expect(sanitizeFileName(raw)).toBe(expected);
  });

  it("cuts long names to 200 UTF-8 bytes, keeping the extension and whole characters", () => {
    const long = sanitizeFileName(`${"é".repeat(300)}.tar.gz`)!;
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
    expect(long.endsWith("é.tar.gz")).toBe(true);
    const noExt = sanitizeFileName("x".repeat(500))!;
    expect(noExt).toBe("x".repeat(200));
  });
});

describe("fileNameFor", () => {
  const url = new URL("https://example.com/files/Annual%20Report.pdf?download=1");
  it("prefers Content-Disposition, then the URL's last segment, then 'download'", () => {
    expect(fileNameFor('attachment; filename="x.pdf"', url)).toBe("x.pdf");
    expect(fileNameFor('attachment; filename=".."', url)).toBe("Annual Report.pdf");
    expect(fileNameFor(undefined, url)).toBe("Annual Report.pdf");
    expect(fileNameFor(undefined, new URL("https://example.com/"))).toBe("download");
    expect(fileNameFor(undefined, new URL("https://example.com/a/%2E%2E"))).toBe("download");
    expect(fileNameFor(undefined, new URL("https://example.com/bad%E0%A4%A.bin"))).toBe("bad%E0%A4%A.bin");
  });
});

describe("numberedName", () => {
  it.each([
    ["report.pdf", 1, "report (1).pdf"],
    ["data.tar.gz", 2, "data (2).tar.gz"],
    ["README", 3, "README (3)"],
    ["v1.2.3.zip", 1, "v1.2.3 (1).zip"],
  ])("%j #%i → %j", (name, n, expected) => {
    expect(numberedName(name, n)).toBe(expected);
  });
});

describe("DOWNLOAD_ERROR_DOCS", () => {
  it("documents every code the download sources throw", () => {
    const dir = join(import.meta.dirname, "../src/download");
    const thrown = new Set<string>();
    for (const file of readdirSync(dir)) {
      const source = readFileSync(join(dir, file), "utf8");
      for (const m of source.matchAll(/(?:permanent|DownloadError)\(\s*["`](HTTP_\$\{|STORAGE_\$\{|[A-Z0-9_]+)/g)) thrown.add(m[1]!);
    }
    expect(thrown.size).toBeGreaterThan(10);
    const documented = new Set(Object.keys(DOWNLOAD_ERROR_DOCS));
    const undocumented = [...thrown].map((c) => c.replace(/^HTTP_.*/, "HTTP_<status>").replace(/^STORAGE_\$\{$/, "STORAGE_<kind>")).filter((c) => !documented.has(c));
    expect(undocumented).toEqual([]);
  });
});
