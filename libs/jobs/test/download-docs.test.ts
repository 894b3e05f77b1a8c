import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DOWNLOAD_ERROR_DOCS } from "../src/download/errors.ts";

describe("download.url error codes", () => {
  it("are each in the README's table", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../../README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Downloads"), readme.indexOf("## Storage"));
    for (const code of Object.keys(DOWNLOAD_ERROR_DOCS)) expect(section, `README documents ${code}`).toContain(`| \`${code}\` |`);
  });
});
