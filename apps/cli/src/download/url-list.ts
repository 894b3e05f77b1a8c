import { parse } from "csv-parse";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";

/** One download a list asks for; `line` is 1-based, for error messages. */
export interface ListedDownload {
  line: number;
  url: string;
  dest?: string;
  sha256?: string;
}

const CSV_COLUMNS = ["url", "dest", "sha256"] as const;

/**
 * Reads a URL list without loading it whole. Two formats:
 * - plain: one URL per line (a URL may contain commas, so lines are not split);
 * - CSV: a `.csv` file, or any file whose first line is a header starting with `url`;
 *   columns url,dest,sha256 (a header row may name them in any order; dest and sha256
 *   may be empty). Blank lines and lines starting with `#` are skipped in both.
 */
export async function* readUrlList(file: string): AsyncGenerator<ListedDownload> {
  const csv = file.toLowerCase().endsWith(".csv") || /^\s*url\s*(,|$)/i.test(await firstLine(file));
  if (!csv) {
    let line = 0;
    let rest = "";
    for await (const chunk of createReadStream(file, { encoding: "utf8" })) {
      const lines = (rest + (chunk as string)).split("\n");
      rest = lines.pop()!;
      for (const text of lines) {
        line++;
        const url = text.trim();
        if (url !== "" && !url.startsWith("#")) yield { line, url };
      }
    }
    const url = rest.trim();
    if (url !== "" && !url.startsWith("#")) yield { line: line + 1, url };
    return;
  }
  let columns: readonly string[] | undefined;
  const parser = createReadStream(file).pipe(parse({ comment: "#", skip_empty_lines: true, trim: true, relax_column_count: true, info: true, bom: true }));
  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    if (columns === undefined) {
      if (record[0]?.toLowerCase() === "url") {
        columns = record.map((c) => c.toLowerCase());
        const unknown = columns.find((c) => !(CSV_COLUMNS as readonly string[]).includes(c));
        if (unknown !== undefined) throw new Error(`${file}: line ${info.lines}: unknown column '${unknown}' (expected ${CSV_COLUMNS.join(", ")})`);
        continue;
      }
      columns = CSV_COLUMNS;
    }
    if (record.length > columns.length) throw new Error(`${file}: line ${info.lines}: ${record.length} columns, expected at most ${columns.length} (${columns.join(",")}); quote a URL that contains commas`);
    const row: Record<string, string> = {};
    columns.forEach((c, i) => {
      if (record[i]) row[c] = record[i]!;
    });
    yield { line: info.lines, url: row.url ?? "", ...(row.dest ? { dest: row.dest } : {}), ...(row.sha256 ? { sha256: row.sha256 } : {}) };
  }
}

async function firstLine(file: string): Promise<string> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString("utf8").replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0] ?? "";
  } finally {
    await handle.close();
  }
}
