// Reads what crawl.wat needs out of a metadata record's JSON text without JSON.parse of the
// whole record. JSON.parse made an object for every link of every page (most of them `A@/href`
// links that only count) and was a third of the job's time. This scanner walks the
// `HTML-Metadata` object and reads only what extractPage (pairs.ts) looks at: `Links`, and of
// `Head` its `Base` and `Link`. In a links array it makes objects only for `IMG@/src`,
// `A@/href` and `LINK@/href` entries; every other entry is one shared empty object, so the
// count stays exact. Everything else is skipped by following strings and brackets.
//
// Rules that must hold:
// - On anything it does not expect (text ending inside HTML-Metadata, a missing ':' or ',', a
//   malformed value it reads) it throws ScanError and the caller parses the record with
//   JSON.parse, so a well-formed record gives what JSON.parse would give (tested against it
//   on generated pages spelt three ways, and on odd cases).
// - Strings that may outlive the record (an image's URL and alt, the target URI) are decoded
//   from their own token's bytes: a V8 slice would keep the whole record's text in memory for
//   as long as a pair (buffered for the pairs file) holds the string. Page links' URLs, looked
//   at for a licence and let go, are slices.
// - Outside HTML-Metadata the JSON is skipped, not checked: a record whose envelope is
//   malformed elsewhere is still read (JSON.parse refused it whole).
// - Keys are found by their plain spelling, and the first `"HTML-Metadata": {` is taken for
//   the page's without checking the path above it. So valid JSON that Common Crawl never
//   writes can read differently from JSON.parse: that key or "WARC-Target-URI" spelt with \u
//   escapes, an object-valued response header of that name, duplicate parent keys. A
//   differential fuzz (350,000 records, stop 12) found differences only of these kinds.

/** The record's text is not what the scanner expects; parse it with JSON.parse instead. */
export class ScanError extends Error {}

/**
 * What extractPage reads of a page: `Links` (an array when well-formed) and, of `Head`, its
 * `Base` and `Link`.
 */
export interface ScannedHtml {
  Head?: unknown;
  Links?: unknown;
}

export interface ScannedRecord {
  html: ScannedHtml;
  /** The last `"WARC-Target-URI"` string of the envelope (its WARC-Header-Metadata, last in CC's order). */
  targetUri: string | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

const HTML_KEY = '"HTML-Metadata"';
const TARGET_KEY = '"WARC-Target-URI"';
/** Links entries whose fields extractPage reads (see readPath); the rest only count. */
const IMG_SRC = "IMG@/src";
const A_HREF = "A@/href";
const LINK_HREF = "LINK@/href";
/** Stands for every Links entry nobody reads (frozen: shared by all pages). */
const UNREAD_LINK: Readonly<Record<string, never>> = Object.freeze({});

/**
 * The page's HTML-Metadata (as above) and the envelope's target URI, or undefined when the
 * record has no `"HTML-Metadata": {` at all. Throws ScanError where the text is not as expected.
 */
export function scanHtmlRecord(payload: Buffer): ScannedRecord | undefined {
  // Most metadata records (requests, crawler metadata) hold no page: the bytes say so before
  // anything is copied.
  const htmlAt = findHtmlKey(payload);
  if (htmlAt < 0) return undefined;
  // Scanned as Latin-1: one character per byte, a copy rather than a UTF-8 decode, and every
  // character JSON's syntax uses is ASCII, which no byte of a multi-byte UTF-8 sequence is. So
  // text indices are byte offsets, and the values kept are decoded from the bytes (parseToken).
  const text = payload.toString("latin1");
  bytes = payload;
  try {
    const start = htmlObjectStart(text, htmlAt);
    const html = scanHtml(text, start);
    // A second key after this object could be the page's instead (one before it cannot: this
    // is the first; one inside it is nested, so not the page's): only JSON.parse can tell.
    if (text.indexOf(HTML_KEY, scanEnd) >= 0) throw new ScanError(`${HTML_KEY} more than once`);
    return { html, targetUri: lastStringOf(text, TARGET_KEY) };
  } finally {
    bytes = EMPTY;
  }
}

/**
 * payload.indexOf(HTML_KEY), about twice as fast: Node's search looks for the needle's first
 * byte and compares from there, and in JSON a quote starts every string, where 'H' is rarer.
 * So it finds the name without its opening quote and checks the byte before.
 */
function findHtmlKey(payload: Buffer): number {
  for (let at = payload.indexOf(HTML_NAME); at >= 0; at = payload.indexOf(HTML_NAME, at + 1)) {
    if (at > 0 && payload[at - 1] === QUOTE) return at - 1;
  }
  return -1;
}

/** HTML_KEY without its opening quote, as bytes. */
const HTML_NAME = Buffer.from(HTML_KEY.slice(1), "latin1");

const EMPTY = Buffer.alloc(0);
/** The record scanHtmlRecord is reading (set for the call only; the scan is synchronous). */
let bytes: Buffer = EMPTY;

/**
 * Index of the '{' of the first `"HTML-Metadata": {` (the key at `at`). A key with another
 * value (a response header of that name, `null`) is left to JSON.parse (ScanError): only it
 * knows which one is the page's.
 */
function htmlObjectStart(text: string, at: number): number {
  // After a backslash the quote is inside another string: "…\"HTML-Metadata": …".
  if (text.charCodeAt(at - 1) === BACKSLASH) throw new ScanError(`an escaped ${HTML_KEY} at ${at}`);
  let i = skipSpace(text, at + HTML_KEY.length);
  if (text.charCodeAt(i) !== COLON) throw new ScanError(`expected ':' at ${i}`);
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) !== OPEN_OBJECT) throw new ScanError(`${HTML_KEY} at ${at} is not an object`);
  return i;
}

/** What scanObject does with a member's value. */
type Rule = "links" | "head" | "parse";
/** HTML-Metadata: `Links` and `Head` are read; the rest (Scripts, Forms, …) skipped. */
const HTML_RULES = new Map<string, Rule>([
  ["Links", "links"],
  ["Head", "head"],
]);
/** Head: `Base` and `Link` (head links: licences) are read; Title, Metas, Scripts skipped. */
const HEAD_RULES = new Map<string, Rule>([
  ["Link", "links"],
  ["Base", "parse"],
]);

function scanHtml(text: string, open: number): ScannedHtml {
  return scanObject(text, open, HTML_RULES);
}

/**
 * The members of the object at text[open] === '{' that `rules` names, read by their rule
 * (a value of another type than the rule expects is JSON.parsed, as JSON.parse would give it);
 * the others skipped. Sets scanEnd just past its '}'.
 */
function scanObject(text: string, open: number, rules: Map<string, Rule>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = firstItem(text, open, CLOSE_OBJECT); i >= 0; ) {
    const keyEnd = stringEnd(text, i);
    const key = keyOf(text, i, keyEnd);
    i = afterColon(text, keyEnd);
    const rule = rules.get(key);
    const c = text.charCodeAt(i);
    let valueEnd: number;
    // Duplicate keys: the last one wins, as in JSON.parse.
    if (rule === "links" && c === OPEN_ARRAY) {
      out[key] = scanLinks(text, i);
      valueEnd = scanEnd;
    } else if (rule === "head" && c === OPEN_OBJECT) {
      out[key] = scanObject(text, i, HEAD_RULES);
      valueEnd = scanEnd;
    } else {
      valueEnd = valueEndAt(text, i);
      if (rule !== undefined) out[key] = parseToken(i, valueEnd);
    }
    i = nextItem(text, valueEnd, CLOSE_OBJECT);
  }
  return out;
}

/**
 * Index of the first member or entry of the object or array opened at text[open], or -1 (with
 * scanEnd set just past it) when it is empty.
 */
function firstItem(text: string, open: number, close: number): number {
  const i = skipSpace(text, open + 1);
  if (text.charCodeAt(i) !== close) return i;
  scanEnd = i + 1;
  return -1;
}

/**
 * After a member or entry that ends at `end`: the index of the next one, or -1 (with scanEnd
 * set just past the container) at `close`.
 */
function nextItem(text: string, end: number, close: number): number {
  const i = skipSpace(text, end);
  const c = text.charCodeAt(i);
  if (c === close) {
    scanEnd = i + 1;
    return -1;
  }
  if (c !== COMMA) throw new ScanError(`expected ',' or '${String.fromCharCode(close)}' at ${i}`);
  return skipSpace(text, i + 1);
}

/** Just past the object or array a scan function read last: a second result, without allocating a pair. */
let scanEnd = 0;

/** The entries of the Links array at text[open] === '['. Sets scanEnd just past its ']'. */
function scanLinks(text: string, open: number): unknown[] {
  const links: unknown[] = [];
  for (let i = firstItem(text, open, CLOSE_ARRAY); i >= 0; ) {
    let end: number;
    if (text.charCodeAt(i) === OPEN_OBJECT) {
      links.push(scanLink(text, i));
      end = scanEnd;
    } else {
      end = valueEndAt(text, i);
      links.push(parseToken(i, end));
    }
    i = nextItem(text, end, CLOSE_ARRAY);
  }
  return links;
}

/**
 * The Links entry at text[open] === '{': its path, url and alt when its path is one
 * extractPage reads, else UNREAD_LINK. Sets scanEnd just past its '}'.
 */
function scanLink(text: string, open: number): unknown {
  // Token bounds as plain numbers (-1: absent), and keys compared in place: a link has a few
  // keys and there are millions of links, so no per-key string or tuple is allocated.
  let pathFrom = -1;
  let pathTo = -1;
  let urlFrom = -1;
  let urlTo = -1;
  let altFrom = -1;
  let altTo = -1;
  for (let i = firstItem(text, open, CLOSE_OBJECT); i >= 0; ) {
    const keyEnd = stringEnd(text, i);
    const from = afterColon(text, keyEnd);
    const to = valueEndAt(text, from);
    switch (linkKey(text, i, keyEnd)) {
      case "path":
        pathFrom = from;
        pathTo = to;
        break;
      case "url":
        urlFrom = from;
        urlTo = to;
        break;
      case "alt":
        altFrom = from;
        altTo = to;
        break;
    }
    i = nextItem(text, to, CLOSE_OBJECT);
  }
  const kind = pathFrom < 0 ? undefined : readPath(text, pathFrom, pathTo);
  if (kind === undefined) return UNREAD_LINK;
  const link: Record<string, unknown> = { path: kind };
  // A page link's URL is only looked at for a licence and then let go: a slice of the text
  // will do (unless escapes must be undone or it is not a string).
  if (urlFrom >= 0) link.url = kind === IMG_SRC ? keptToken(text, urlFrom, urlTo) : plainToken(text, urlFrom, urlTo);
  // Only images need their alt (and it is kept: a fresh string, see the rules above).
  if (altFrom >= 0 && kind === IMG_SRC) link.alt = keptToken(text, altFrom, altTo);
  return link;
}

/**
 * Which of the keys scanLink reads the key token text[open, end) is, or undefined. A plain key
 * is compared where it stands; only one with a backslash needs keyOf's decoding.
 */
function linkKey(text: string, open: number, end: number): "path" | "url" | "alt" | undefined {
  if (text.charCodeAt(open) !== QUOTE) throw new ScanError(`expected a key at ${open}`);
  const length = end - open - 2;
  if (length === 4 && text.startsWith("path", open + 1)) return "path";
  if (length === 3 && text.startsWith("url", open + 1)) return "url";
  if (length === 3 && text.startsWith("alt", open + 1)) return "alt";
  // Only a key with an escape can still be one ("p\\u0061th"); decoding it also checks it, as before.
  if (!hasBackslash(text, open + 1, end - 1)) return undefined;
  const key = keyOf(text, open, end);
  return key === "path" || key === "url" || key === "alt" ? key : undefined;
}

/** The string token text[from, to) as a slice when it is plain ASCII without escapes, else parseToken's. */
function plainToken(text: string, from: number, to: number): unknown {
  if (text.charCodeAt(from) !== QUOTE) return parseToken(from, to);
  const raw = text.slice(from + 1, to - 1);
  return NOT_PLAIN.test(raw) ? parseToken(from, to) : raw;
}

/** The path of text[from, to) when it is one extractPage reads (as one of the constants above), else undefined. */
function readPath(text: string, from: number, to: number): string | undefined {
  if (text.charCodeAt(from) !== QUOTE) return undefined; // not a string, so no path it reads
  // Only an escape can make a token spell one of these ASCII names: a token with UTF-8 bytes
  // is none of them, in Latin-1 or decoded. A plain token is compared where it stands.
  const length = to - from - 2;
  for (const name of READ_PATHS) if (length === name.length && text.startsWith(name, from + 1)) return name;
  // Only a path with an escape can still be one ("IMG@\\/src"); decoding it also checks it, as before.
  if (!hasBackslash(text, from + 1, to - 1)) return undefined;
  const decoded = parseToken(from, to);
  return READ_PATHS.find((name) => name === decoded);
}

/** Whether text[from, to) holds a backslash (for short tokens: no slice, and no search past `to`). */
function hasBackslash(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === BACKSLASH) return true;
  return false;
}

/** The Links paths scanLink makes objects for. */
const READ_PATHS = [IMG_SRC, A_HREF, LINK_HREF] as const;

/**
 * The value of the last `"<key>":` in the text (the same words as a string value, with no ':'
 * after them, are passed over), when it is a string; else undefined.
 */
function lastStringOf(text: string, quotedKey: string): string | undefined {
  for (let at = text.lastIndexOf(quotedKey); at >= 0; at = at === 0 ? -1 : text.lastIndexOf(quotedKey, at - 1)) {
    if (text.charCodeAt(at - 1) === BACKSLASH) throw new ScanError(`an escaped ${quotedKey} at ${at}`);
    let i = skipSpace(text, at + quotedKey.length);
    if (text.charCodeAt(i) !== COLON) continue; // a string value, not the key
    i = skipSpace(text, i + 1);
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const value = parseToken(i, stringEnd(text, i));
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

/**
 * JSON.parse of the token at [from, to), decoded from the record's bytes as UTF-8 (not from
 * the Latin-1 text, which holds those bytes as characters): fresh strings, escapes undone,
 * malformed tokens refused.
 */
function parseToken(from: number, to: number): unknown {
  try {
    return JSON.parse(bytes.toString("utf8", from, to));
  } catch {
    throw new ScanError(`not a JSON value at ${from}`);
  }
}

/**
 * parseToken's value for a token that is kept, decoded straight from its bytes when it is a
 * string with no escape and no control character (which JSON.parse refuses): the same string,
 * without a second copy and a parse. Image URLs and alt texts almost always are.
 */
function keptToken(text: string, from: number, to: number): unknown {
  if (text.charCodeAt(from) !== QUOTE) return parseToken(from, to);
  for (let i = from + 1; i < to - 1; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x1f || c === BACKSLASH) return parseToken(from, to);
  }
  return bytes.toString("utf8", from + 1, to - 1);
}

/** Characters that need parseToken: an escape, or a byte of a multi-byte UTF-8 sequence. */
const NOT_PLAIN = /[\\\x80-\xff]/;

/**
 * The key whose token is text[open, end), for comparing with ASCII names: escapes undone (JSON
 * lets "path" be spelt "pa\\u0074h"); UTF-8 bytes left as Latin-1 (no such key is one of them).
 */
function keyOf(text: string, open: number, end: number): string {
  if (text.charCodeAt(open) !== QUOTE) throw new ScanError(`expected a key at ${open}`);
  const raw = text.slice(open + 1, end - 1);
  return raw.includes("\\") ? (parseToken(open, end) as string) : raw;
}

/** Index of the value after the ':' that follows a key ending at `keyEnd`. */
function afterColon(text: string, keyEnd: number): number {
  const i = skipSpace(text, keyEnd);
  if (text.charCodeAt(i) !== COLON) throw new ScanError(`expected ':' at ${i}`);
  return skipSpace(text, i + 1);
}

/** JSON whitespace (space, tab, CR, LF) from i on. */
function skipSpace(text: string, i: number): number {
  let c = text.charCodeAt(i);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  return i;
}

/** Index just past the string token starting at text[open] === '"'. */
function stringEnd(text: string, open: number): number {
  let k = open + 1;
  for (;;) {
    k = text.indexOf('"', k);
    if (k < 0) throw new ScanError(`a string at ${open} never ends`);
    // A quote preceded by an odd run of backslashes is escaped.
    let backslashes = 0;
    while (text.charCodeAt(k - 1 - backslashes) === BACKSLASH) backslashes++;
    if ((backslashes & 1) === 0) return k + 1;
    k++;
  }
}

/** Index just past the JSON value starting at text[i] (strings and nesting followed, not checked). */
function valueEndAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return stringEnd(text, i);
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    let depth = 0;
    for (;;) {
      const d = text.charCodeAt(i);
      if (d === QUOTE) {
        i = stringEnd(text, i);
        continue;
      }
      if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++;
      else if (d === CLOSE_OBJECT || d === CLOSE_ARRAY) {
        if (--depth === 0) return i + 1;
      } else if (Number.isNaN(d)) throw new ScanError("the text ends inside a value");
      i++;
    }
  }
  // A number or a literal: up to the next delimiter.
  const from = i;
  for (;;) {
    const d = text.charCodeAt(i);
    if (Number.isNaN(d) || d === COMMA || d === CLOSE_OBJECT || d === CLOSE_ARRAY || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    i++;
  }
  if (i === from) throw new ScanError(`expected a value at ${from}`);
  return i;
}
