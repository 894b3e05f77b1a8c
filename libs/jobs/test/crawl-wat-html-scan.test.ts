// scanHtmlRecord reads a page's links without JSON.parse of the whole record: on every
// well-formed record it must give what extractPage would read from JSON.parse's result, and
// on a record cut short inside HTML-Metadata it must refuse (ScanError), never answer.
import { generateWat, Random } from "@drover/fixtures";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { scanHtmlRecord, ScanError, type ScannedRecord } from "../src/crawl/wat-html-scan.ts";
import { WarcReader } from "../src/crawl/wat-reader.ts";

/** What extractPage reads of a page (pairs.ts): the fields the scanner must get right. */
function readView(html: unknown, targetUri: unknown): unknown {
  const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const entries = (list: unknown): unknown =>
    Array.isArray(list)
      ? list.map((entry) => {
          const link = obj(entry);
          if (link === undefined) return "not an object";
          if (link.path === "IMG@/src") return { path: link.path, url: link.url, alt: link.alt };
          if (link.path === "A@/href" || link.path === "LINK@/href") return { path: link.path, url: link.url };
          return "unread";
        })
      : `not an array: ${JSON.stringify(list)}`;
  const page = obj(html);
  const head = obj(page?.Head);
  return {
    targetUri,
    isObject: page !== undefined,
    links: entries(page?.Links),
    head: head === undefined ? "no head" : { Base: head.Base, Link: head.Link === undefined ? undefined : entries(head.Link) },
  };
}

/** The reference: JSON.parse, then the path crawl.wat reads. */
function byJsonParse(text: string): unknown {
  const env = (JSON.parse(text) as { Envelope?: Record<string, Record<string, Record<string, unknown>>> }).Envelope;
  const html = env?.["Payload-Metadata"]?.["HTTP-Response-Metadata"]?.["HTML-Metadata"];
  return readView(html, (env?.["WARC-Header-Metadata"] as Record<string, unknown> | undefined)?.["WARC-Target-URI"]);
}

function byScanner(text: string): unknown {
  return byScannerBytes(Buffer.from(text));
}

function byScannerBytes(payload: Buffer): unknown {
  const scanned: ScannedRecord | undefined = scanHtmlRecord(payload);
  return scanned === undefined ? readView(undefined, undefined) : readView(scanned.html, scanned.targetUri);
}

/** The JSON texts of a generated WAT's metadata records that hold HTML-Metadata. */
async function pageRecords(seed: number, pages: number): Promise<string[]> {
  const { gzip } = await generateWat({ pages, seed, expectedLimit: 0 });
  const reader = new WarcReader((async function* () {
    yield gunzipSync(gzip);
  })());
  const texts: string[] = [];
  for (let head = await reader.next(); head !== null; head = await reader.next()) {
    const block = (await reader.read(head.contentLength)).toString("utf8");
    if (head.type === "metadata" && block.includes('"HTML-Metadata"')) texts.push(block);
  }
  return texts;
}

/** The same JSON value spelt differently: indentation, escaped slashes, \u escapes for non-ASCII and in keys. */
function respell(text: string, how: "indented" | "escaped"): string {
  const value: unknown = JSON.parse(text);
  if (how === "indented") return JSON.stringify(value, null, 2).replace(/\n/g, "\r\n\t");
  return JSON.stringify(value)
    .replace(/\//g, "\\/")
    .replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    .replace(/"(path|url|alt|Links|Head|Base|Link)":/g, (_, key: string) => `"${key[0]}\\u00${key.charCodeAt(1).toString(16)}${key.slice(2)}":`);
}

describe("scanHtmlRecord", () => {
  it("reads what JSON.parse reads on generated pages, however the JSON is spelt", async () => {
    const texts = await pageRecords(7, 300);
    expect(texts.length).toBeGreaterThan(250);
    for (const text of texts) {
      for (const spelling of [text, respell(text, "indented"), respell(text, "escaped")]) {
        expect(byScanner(spelling)).toEqual(byJsonParse(spelling));
      }
    }
  });

  it("reads odd but well-formed pages as JSON.parse does", () => {
    const envelope = (html: string, extra = ""): string =>
      `{"Container":{},"Envelope":{"Payload-Metadata":{"HTTP-Response-Metadata":{"Headers":{"Server":"x"${extra}},"HTML-Metadata":${html}}},"WARC-Header-Metadata":{"WARC-Target-URI":"http://ex.com/p"}}}`;
    const cases = [
      "{}",
      '{"Links":[]}',
      '{"Links":{"not":"an array"}}',
      '{"Links":[1,"two",null,[3],{"path":"IMG@/src"}]}',
      '{"Links":[{"path":"IMG@/src","url":5,"alt":{"x":[1,{"y":"}"}]}},{"path":["IMG@/src"],"url":"u"}]}',
      '{"Links":[{"url":"a.jpg","alt":"first","path":"IMG@/src","alt":"last wins"}],"Links":[{"path":"A@/href","url":"second Links wins"}]}',
      '{"Head":"not an object","Links":[{"path":"IMG@/data-src","url":"lazy.jpg","alt":"x"}]}',
      '{"Head":{"Base":"/b/","Title":"t \\" } ] {","Link":[{"path":"LINK@/href","url":"https://creativecommons.org/licenses/by/4.0/"},7]},"Head":{"Base":7}}',
      '{"Head":{"Link":"not an array"},"Scripts":[{"path":"SCRIPT@/src","url":"x.js"}],"Links":[{"path":"IMG@/src","url":"a\\\\\\"b.jpg","alt":"back\\\\slash \\\\"}]}',
      '{"Links":[{"path":"IMG@/src","url":"x.jpg","alt":"tab\\there\\u2028\\ud83d\\ude00"}]}',
      ' { "Links" : [ { "path" : "IMG@/src" , "url" : "x.jpg" , "alt" : "spaced" } ] , "Head" : { } } ',
      // The key again, nested inside the page's object: still the outer one is the page.
      '{"Head":{"Title":"t","X":{"HTML-Metadata":{"Links":[1]}}},"Links":[{"path":"IMG@/src","url":"a.jpg","alt":"b"}]}',
    ];
    for (const html of cases) {
      const text = envelope(html);
      expect(byScanner(text), html).toEqual(byJsonParse(text));
    }
    // Names that end like the key, before it: only a quoted "HTML-Metadata" is the key.
    for (const header of [',"XHTML-Metadata":"h"', ',"X-HTML-Metadata":{"Links":[1]}']) {
      const text = envelope('{"Links":[{"path":"IMG@/src","url":"a.jpg","alt":"b"}]}', header);
      expect(byScanner(text), header).toEqual(byJsonParse(text));
      expect(scanHtmlRecord(Buffer.from(text))?.html.Links, header).toEqual([{ path: "IMG@/src", url: "a.jpg", alt: "b" }]);
    }
    expect(scanHtmlRecord(Buffer.from('HTML-Metadata":{}'))).toBeUndefined();
    // The name as a string value before the key looks like the key: left to JSON.parse.
    expect(() => scanHtmlRecord(Buffer.from(envelope("{}", ',"v":"HTML-Metadata"')))).toThrow(ScanError);
    // The last "WARC-Target-URI" is a string value: the key before it counts.
    const valueAfter = '{"Envelope":{"Payload-Metadata":{"HTTP-Response-Metadata":{"HTML-Metadata":{}}},"WARC-Header-Metadata":{"WARC-Target-URI":"http://x/"},"Z":"WARC-Target-URI"}}';
    expect(byScanner(valueAfter)).toEqual(byJsonParse(valueAfter));
    expect(scanHtmlRecord(Buffer.from(valueAfter))?.targetUri).toBe("http://x/");
    // No page at all (the key inside a string is no key).
    expect(scanHtmlRecord(Buffer.from('{"Envelope":{"Payload-Metadata":{}}}'))).toBeUndefined();
    expect(scanHtmlRecord(Buffer.from('{"k":"\\"HTML-Metadata\\":{}"}'))).toBeUndefined();
    // Which "HTML-Metadata" is the page's only JSON.parse can tell: a response header of that
    // name, a second one, a null page, an escaped key.
    for (const text of [
      envelope('{"Links":[]}', ',"HTML-Metadata":"a header"'),
      '{"Headers":{"HTML-Metadata":"x"}}',
      '{"HTML-Metadata":null}',
      '{"a":{"HTML-Metadata":{"Links":[]}},"b":{"HTML-Metadata":{"Links":[]}}}',
      '{"k\\"HTML-Metadata":{}}',
    ]) {
      expect(() => scanHtmlRecord(Buffer.from(text)), text).toThrow(ScanError);
    }
  });

  it("decodes kept strings as TextDecoder decodes the whole record, broken UTF-8 included", () => {
    const head = Buffer.from('{"Envelope":{"Payload-Metadata":{"HTTP-Response-Metadata":{"HTML-Metadata":{"Links":[{"path":"IMG@/src","url":"/caf');
    const mid = Buffer.from('.jpg","alt":"');
    const tail = Buffer.from('"}],"Head":{"Base":"/b\\u00e9/"}}}},"WARC-Header-Metadata":{"WARC-Target-URI":"http://ex.com/ü"}}}');
    // é; a lone continuation byte; a lead byte cut short by the quote; a 4-byte emoji; an overlong '/'.
    for (const odd of [[0xc3, 0xa9], [0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98, 0x80], [0xc0, 0xaf]]) {
      const payload = Buffer.concat([head, Buffer.from(odd), mid, Buffer.from("x"), Buffer.from(odd), tail]);
      expect(byScannerBytes(payload), odd.join(",")).toEqual(byJsonParse(new TextDecoder().decode(payload)));
    }
  });

  it("refuses a record cut short anywhere inside HTML-Metadata, and one that is not JSON there", async () => {
    const [text] = await pageRecords(3, 20);
    const from = text!.indexOf('"HTML-Metadata"');
    const to = text!.indexOf(',"Actual-Content-Length"', from); // where HTML-Metadata's parent closes
    expect(from).toBeGreaterThan(0);
    expect(to).toBeGreaterThan(from);
    const rng = new Random(11);
    // HTML-Metadata's own '}' is at to - 2: every cut up to there leaves it open.
    const cuts = [from + 15, from + 16, from + 17, to - 2, ...Array.from({ length: 300 }, () => rng.int(from + 16, to - 2))];
    for (const cut of cuts) {
      expect(() => scanHtmlRecord(Buffer.from(text!.slice(0, cut))), `cut at ${cut}`).toThrow(ScanError);
    }
    // Cut after it, the page is whole: the scanner reads it (the rest of the envelope is not its business).
    expect(scanHtmlRecord(Buffer.from(text!.slice(0, to - 1)))?.html).toEqual(scanHtmlRecord(Buffer.from(text!))?.html);
    for (const html of ['{"Links":[{"path" "IMG@/src"}]}', '{"Links":[{"path":"IMG@/src",}]}', '{"Links":[{"path":"IMG@/src","url":"x.jpg","alt":bad}]}', '{"Links" []}', '{"Links":[] "Head":{}}',
      // Kept strings are decoded straight from their bytes when plain: a raw control character
      // (JSON.parse refuses it) or a bad escape must still be refused, in a value and in a key.
      '{"Links":[{"path":"IMG@/src","url":"x.jpg","alt":"tab\there"}]}',
      '{"Links":[{"path":"IMG@/src","url":"x\u0001.jpg","alt":"ok"}]}',
      '{"Links":[{"path":"IMG@/src","url":"x.jpg","alt":"bad \\x escape"}]}',
      '{"Links":[{"pa\\qh":"IMG@/src","url":"x.jpg","alt":"ok"}]}',
      '{"Links":[{"path":"IMG@\\q/src","url":"x.jpg","alt":"ok"}]}']) {
      expect(() => scanHtmlRecord(Buffer.from(`{"Envelope":{"HTML-Metadata":${html}}}`)), html).toThrow(ScanError);
    }
  });
});
