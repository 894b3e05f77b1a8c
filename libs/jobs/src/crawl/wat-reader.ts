// The WARC record reader under parseWat (wat-parse.ts): splits inflated bytes into records
// and reads only the three header fields crawl.wat needs, following warcio's header rules.
import { NonRetryableError } from "../errors.ts";

/** Thrown for a damaged input: retrying the same bytes cannot help. */
export class CorruptShardError extends NonRetryableError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: "CORRUPT_SHARD", cause });
  }
}

/** What the reader keeps of a record's WARC header block. */
export interface WarcRecordHead {
  type: string | undefined;
  targetUri: string | undefined;
  /** Content-Length (0 when absent or unreadable, as warcio took it). */
  contentLength: number;
}

const CR = 13;
const LF = 10;
const CRLFCRLF = Buffer.from("\r\n\r\n");

/**
 * A WARC record reader over the inflated bytes: the version line, the header block up to the
 * blank line, then exactly Content-Length bytes of block. It reads what warcio's WARCParser
 * read (same header rules: case-insensitive names, trimmed values, folded continuation lines,
 * repeated names joined with ", "; blank lines between records skipped), without its
 * per-record Headers object and stream layers. A file that ends inside a header block or a
 * record's block is truncated: that is an error here (warcio returned a short record).
 */
export class WarcReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;
  private readonly chunks: AsyncIterator<Uint8Array>;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.chunks = source[Symbol.asyncIterator]();
  }

  /** The next chunk of input, undefined at its end. */
  private async pull(): Promise<Buffer | undefined> {
    if (this.done) return undefined;
    const next = await this.chunks.next();
    if (next.done === true) {
      this.done = true;
      return undefined;
    }
    return Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
  }

  /** Appends the next chunk to what is unread; false at the end of the input. */
  private async more(): Promise<boolean> {
    const chunk = await this.pull();
    if (chunk === undefined) return false;
    this.buf = this.pos >= this.buf.length ? chunk : Buffer.concat([this.buf.subarray(this.pos), chunk]);
    this.pos = 0;
    return true;
  }

  /** The next record's head, positioned at its block; null at a clean end of input. */
  async next(): Promise<WarcRecordHead | null> {
    // Blank lines (the CRLFCRLF that ends every record, and any extra) before the version line.
    for (;;) {
      while (this.pos < this.buf.length && (this.buf[this.pos] === CR || this.buf[this.pos] === LF)) this.pos++;
      if (this.pos < this.buf.length) break;
      if (!(await this.more())) return null;
    }
    let from = this.pos;
    let end: number;
    for (;;) {
      end = this.buf.indexOf(CRLFCRLF, from);
      if (end >= 0) break;
      // more() moves the unread bytes to the front: resume the search near the old end.
      const searched = this.buf.length - this.pos;
      if (!(await this.more())) throw new CorruptShardError("the file ends inside a WARC header block: it is truncated");
      from = this.pos + Math.max(0, searched - 3);
    }
    const text = this.buf.toString("utf8", this.pos, end + 2);
    this.pos = end + 4;
    return parseHead(text);
  }

  /** The next `length` bytes (fewer only at the end of the input). */
  async read(length: number): Promise<Buffer> {
    if (this.buf.length - this.pos < length) return this.readAcross(length);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** read() of a record that goes on past the unread bytes: gathers the chunks and copies once. */
  private async readAcross(length: number): Promise<Buffer> {
    // Appending chunk by chunk would copy a big record over and over.
    const parts = [this.buf.subarray(this.pos)];
    let have = parts[0]!.byteLength;
    let last = this.buf;
    while (have < length) {
      const chunk = await this.pull();
      if (chunk === undefined) break;
      parts.push(chunk);
      have += chunk.byteLength;
      last = chunk;
    }
    // Only the record's bytes are copied; the rest of the last chunk (the next records) is
    // read in place, rather than copied along with the record.
    const out = Buffer.concat(parts, Math.min(have, length));
    this.buf = last;
    this.pos = last.byteLength - (have - out.byteLength);
    return out;
  }

  /** Skips `length` bytes; a file that ends first is truncated. */
  async skip(length: number): Promise<void> {
    let left = length;
    for (;;) {
      const here = Math.min(left, this.buf.length - this.pos);
      this.pos += here;
      left -= here;
      if (left === 0) return;
      if (!(await this.more())) throw new CorruptShardError(`the file ends inside a record, ${left} of its ${length} bytes short: it is truncated`);
    }
  }
}

/**
 * The version line and headers (each line ending in CRLF) of one record. Only three headers
 * are kept, so the others' values are never cut out of the text: all that matters about them
 * is whether the value is empty (a folded line continues a header only if it is not).
 */
function parseHead(text: string): WarcRecordHead {
  const found: [string | undefined, string | undefined, string | undefined] = [undefined, undefined, undefined];
  let slot = -1;
  let value = ""; // of a kept header (slot >= 0)
  let open = false; // the current header's value is not empty: a folded line continues it
  // The first line is the version line ("WARC/1.0").
  let start = text.indexOf("\n") + 1;
  while (start > 0 && start < text.length) {
    let lineEnd = text.indexOf("\n", start);
    if (lineEnd < 0) lineEnd = text.length;
    const c = text.charCodeAt(start);
    if (open && (c === 32 || c === 9)) {
      if (slot >= 0) value += text.slice(start, lineEnd).trimEnd(); // a folded continuation line
    } else {
      if (slot >= 0 && open) found[slot] = found[slot] === undefined ? value : `${found[slot]}, ${value}`;
      slot = -1;
      value = "";
      open = false;
      const colon = text.indexOf(":", start);
      if (colon >= 0 && colon < lineEnd) {
        slot = headerSlot(headerName(text, start, colon));
        if (slot >= 0) {
          value = text.slice(colon + 1, lineEnd).trim();
          open = value !== "";
        } else {
          open = hasNonSpace(text, colon + 1, lineEnd);
        }
      }
    }
    start = lineEnd + 1;
  }
  if (slot >= 0 && open) found[slot] = found[slot] === undefined ? value : `${found[slot]}, ${value}`;
  const length = Number(found[2] ?? 0);
  return { type: found[0], targetUri: found[1], contentLength: Number.isFinite(length) && length > 0 ? Math.floor(length) : 0 };
}

/**
 * The header name in text[start, colon), leading whitespace trimmed; "" when it cannot be a
 * kept header (wrong length), without cutting it out of the text.
 */
function headerName(text: string, start: number, colon: number): string {
  const c = text.charCodeAt(start);
  // A name starting with printable ASCII has no leading whitespace to trim.
  if (c > 32 && c < 127 && !KEPT_NAME_LENGTHS.has(colon - start)) return "";
  return text.slice(start, colon).trimStart();
}

const KEPT_NAME_LENGTHS = new Set(["WARC-Type".length, "WARC-Target-URI".length, "Content-Length".length]);

/** Whether text[from, to) holds anything but whitespace, i.e. is not "" once trimmed. */
function hasNonSpace(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) continue;
    // Printable ASCII is never whitespace; anything else is left to trim() to judge.
    return c > 32 && c < 127 ? true : text.slice(i, to).trim() !== "";
  }
  return false;
}

/** 0, 1, 2 for the headers kept (WARC-Type, WARC-Target-URI, Content-Length, any case), -1 for the rest. */
function headerSlot(name: string): number {
  if (name.length !== 9 && name.length !== 14 && name.length !== 15) return -1;
  const lower = name.toLowerCase();
  return lower === "warc-type" ? 0 : lower === "warc-target-uri" ? 1 : lower === "content-length" ? 2 : -1;
}
