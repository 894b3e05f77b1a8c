// parseWat's WARC header rules (crawl/wat-reader.ts, parseHead), on a plain (uncompressed) WARC:
// the answers below are those of the reader before it stopped cutting out the values of the
// headers it does not keep (and those of warcio, whose rules it follows).
import { describe, expect, it } from "vitest";
import { parseWat, type ParseCounters, type WatRecord } from "../src/crawl/wat-parse.ts";

/** One metadata record with these header lines (after the version line) and a 2-byte block. */
function record(headers: string): string {
  return `WARC/1.0\r\n${headers}\r\n{}\r\n\r\n`;
}

/** The bytes in chunks of 7, so that header blocks and records span chunks. */
async function* chunked(text: string): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
}

async function targetUris(warc: string): Promise<string[]> {
  const counters: ParseCounters = { records: 0, metadataRecords: 0, badRecords: 0, bytesInflated: 0 };
  const out: WatRecord[] = [];
  for await (const r of parseWat(chunked(warc), counters)) out.push(r);
  expect(counters.metadataRecords).toBe(out.length);
  return out.map((r) => r.targetUri);
}

describe("parseWat's header block", () => {
  it("reads names in any case, folded lines, repeats and stray whitespace as before", async () => {
    const warc = [
      // A folded line continues the value, its leading whitespace kept.
      record("warc-type: metadata\r\nWARC-Target-URI: http://a.example/x\r\n  y\r\nContent-Length: 2\r\n"),
      // After a header with an empty value, an indented line is a header of its own...
      record("WARC-Type: metadata\r\nX-Empty:\r\n WARC-Target-URI: http://b.example/\r\nCONTENT-LENGTH: 2\r\n"),
      // ...but after one with a value, it continues that value.
      record("WARC-Type: metadata\r\nX-Full: v\r\n WARC-Target-URI: http://c.example/\r\nContent-Length: 2\r\n"),
      // Repeats are joined with ", ", values trimmed.
      record("WARC-Type: metadata\r\nWARC-Target-URI: http://d.example/1\r\nWARC-Target-URI:  http://d.example/2 \r\nContent-Length: 2\r\n"),
      // Trailing whitespace in a name makes it another name; leading whitespace (even Unicode) does not.
      record("WARC-Type: metadata\r\nWARC-Target-URI :http://e.example/\r\n\u00a0WARC-Target-URI: http://f.example/\r\nContent-Length: 2\r\n"),
      // A value of Unicode whitespace only is empty (the indented line is a header of its own);
      // a non-ASCII letter is a value (the indented line continues it).
      record("WARC-Type: metadata\r\nX-Empty:\u00a0\u3000\r\n WARC-Target-URI: http://g.example/\r\nContent-Length: 2\r\n"),
      record("WARC-Type: metadata\r\nX-Full: \u00e9\r\n WARC-Target-URI: http://h.example/\r\nContent-Length: 2\r\n"),
    ].join("");
    expect(await targetUris(warc)).toEqual(["http://a.example/x  y", "http://b.example/", "", "http://d.example/1, http://d.example/2", "http://f.example/", "http://g.example/", ""]);
  });
});
