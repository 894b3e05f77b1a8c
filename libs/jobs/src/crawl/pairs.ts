// From one page's HTML-Metadata to its candidate (image URL, alt text) pairs: which links
// count, how URLs resolve, how alt texts are normalised, which licence applies, and the
// shard-wide duplicate check. Pure functions (plus the Deduper's set), no I/O.
import { hasOpaqueOtherScheme, plainBase, resolvePlainUrl, type PlainBase } from "./plain-url.ts";

export interface PairFilter {
  /** Lower-case extensions (no dot) whose images are dropped. */
  excludeExtensions: readonly string[];
  /** Shortest alt text kept, in characters after normalising. */
  minAltLength: number;
}

/** Why an `IMG@/src` link yields no pair (duplicates are counted apart, see Deduper). */
export const DROP_REASONS = ["noAlt", "altTooShort", "badUrl", "scheme", "extension"] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface Candidate {
  /** Absolute http(s) URL. */
  url: string;
  /** Normalised alt text. */
  alt: string;
}

export interface PageExtract {
  /** Entries of HTML-Metadata.Links, every path. */
  links: number;
  /** `IMG@/src` entries. */
  images: number;
  /** Kept candidates in page order (before the duplicate check). */
  candidates: Candidate[];
  dropped: Record<DropReason, number>;
  /** The first Creative Commons licence or public-domain URL the page links to. */
  license?: string;
}

interface LinkEntry {
  path?: unknown;
  url?: unknown;
  alt?: unknown;
  rel?: unknown;
}

/**
 * Collapses every run of whitespace (Unicode: also no-break and ideographic spaces, newlines,
 * tabs) to one space and trims: the alt as a reader sees it, and the form duplicates compare.
 */
export function normaliseAlt(raw: string): string {
  // Most alt texts are already normal; testing is much cheaper than replacing (which builds a new string).
  if (!NEEDS_NORMALISING.test(raw)) return raw;
  return raw.replace(/\s+/gu, " ").trim();
}

/** Whitespace that normaliseAlt would change: any but a space, two in a row, or one at either end. */
const NEEDS_NORMALISING = /[^\S ]|\s\s|^\s|\s$/u;

/** The extension of the URL's last path segment, lower-case, "" when it has none. */
export function pathExtension(url: URL): string {
  return extensionOf(url.pathname);
}

/** pathExtension of a URL's pathname. */
function extensionOf(path: string): string {
  const segment = path.slice(path.lastIndexOf("/") + 1);
  const dot = segment.lastIndexOf(".");
  if (dot < 0) return "";
  let ext = segment.slice(dot + 1);
  if (!ext.includes("%")) return ext.toLowerCase(); // nothing to decode (the usual case)
  try {
    ext = decodeURIComponent(ext);
  } catch {
    // a stray '%' in the name: keep it as written
  }
  return ext.toLowerCase();
}

/**
 * The URL relative links resolve against: the page's `<base href>` (WAT's `Head.Base`, itself
 * resolved against the page URL) when there is a valid one, else the page URL.
 */
export function baseUrl(pageUrl: string, head: unknown): URL | undefined {
  let page: URL | undefined;
  try {
    page = new URL(pageUrl);
  } catch {
    page = undefined;
  }
  const base = isObject(head) ? head.Base : undefined;
  if (typeof base === "string" && base.trim() !== "") {
    try {
      return new URL(base, page);
    } catch {
      // an unusable <base>: browsers fall back to the document URL too
    }
  }
  return page;
}

/**
 * A Creative Commons licence or public-domain tool: creativecommons.org (or www.) with a path
 * under /licenses/ or /publicdomain/. Returns the resolved URL, or undefined.
 */
export function licenseUrl(raw: unknown, base: URL | undefined): string | undefined {
  if (typeof raw !== "string") return undefined;
  // Most links are not licences, and parsing each one is the costliest part of a page: skip
  // those that cannot resolve to creativecommons.org (see mayNameCreativeCommons).
  if (!mayNameCreativeCommons(raw, base)) return undefined;
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.hostname !== "creativecommons.org" && url.hostname !== "www.creativecommons.org") return undefined;
  return /^\/(licenses|publicdomain)\/./.test(url.pathname) ? url.href : undefined;
}

const CC_HOST = "creativecommons.org";
/** CC_HOST in any ASCII case (for printable ASCII, the same as lower-casing first, without the copy). */
const CC_HOST_ANY_CASE = /creativecommons\.org/i;
/** Characters outside printable ASCII (tabs and newlines vanish inside URLs; IDNA maps others) or '%' (hosts are percent-decoded). */
const NOT_PLAIN = /[^\x21-\x7e]|%/;

/**
 * False only when `raw`, resolved against `base`, cannot have creativecommons.org as its host:
 * the base's host is another one, and `raw` is plain printable ASCII without '%' (so no
 * percent-decoding, removed tab or newline, or IDNA mapping can change its spelling) that does
 * not contain "creativecommons.org" in any case.
 */
function mayNameCreativeCommons(raw: string, base: URL | undefined): boolean {
  if (base !== undefined && base.hostname.endsWith(CC_HOST)) return true;
  if (NOT_PLAIN.test(raw)) return true;
  return CC_HOST_ANY_CASE.test(raw);
}

/** Reads one page's HTML-Metadata into candidate pairs, counts and its licence. */
export function extractPage(html: unknown, pageUrl: string, filter: PairFilter): PageExtract {
  const out: PageExtract = { links: 0, images: 0, candidates: [], dropped: { noAlt: 0, altTooShort: 0, badUrl: 0, scheme: 0, extension: 0 } };
  if (!isObject(html)) return out;
  const base = baseUrl(pageUrl, html.Head);
  const plain = plainBase(base);
  const links = Array.isArray(html.Links) ? (html.Links as unknown[]) : [];
  const headLinks = isObject(html.Head) && Array.isArray(html.Head.Link) ? (html.Head.Link as unknown[]) : [];
  out.links = links.length;

  for (const entry of links) {
    if (!isObject(entry)) continue;
    const link = entry as LinkEntry;
    if (link.path === "IMG@/src") {
      out.images++;
      const verdict = judgeImage(link, base, plain, filter);
      if (typeof verdict === "string") out.dropped[verdict]++;
      else out.candidates.push(verdict);
    } else if (out.license === undefined && (link.path === "A@/href" || link.path === "LINK@/href")) {
      out.license = licenseUrl(link.url, base);
    }
  }
  // <link rel="license" href="…"> in the head counts as well.
  for (const entry of headLinks) {
    if (out.license !== undefined) break;
    if (isObject(entry) && (entry as LinkEntry).path === "LINK@/href") out.license = licenseUrl((entry as LinkEntry).url, base);
  }
  return out;
}

/** `plain` is plainBase(base), computed once per page. */
function judgeImage(link: LinkEntry, base: URL | undefined, plain: PlainBase | undefined, filter: PairFilter): Candidate | DropReason {
  if (typeof link.alt !== "string") return "noAlt";
  const alt = normaliseAlt(link.alt);
  if (alt === "") return "noAlt";
  // Code points, not UTF-16 units; each code point is one or two units, so counting is only
  // needed when the answer is not already clear from the length.
  if (alt.length < filter.minAltLength || (alt.length < 2 * filter.minAltLength && [...alt].length < filter.minAltLength)) return "altTooShort";
  if (typeof link.url !== "string" || link.url.trim() === "") return "badUrl";
  if (hasOpaqueOtherScheme(link.url)) return "scheme"; // data:, javascript:, … without parsing
  const url = resolvePlainUrl(link.url, plain) ?? parseImageUrl(link.url, base);
  if (typeof url === "string") return url;
  if (filter.excludeExtensions.includes(extensionOf(url.pathname))) return "extension";
  return { url: url.href, alt };
}

/** The link parsed as a URL (the slow path, see plain-url.ts), or why it yields no pair. */
function parseImageUrl(raw: string, base: URL | undefined): URL | "badUrl" | "scheme" {
  // Not URL.canParse: on Node 20 and 22 it starts answering false for hosts with Latin-1
  // letters (bücher.de, faß.de) once V8 has optimised the call, a few thousand calls in
  // (a Node bug; the regression test is in crawl-pairs.test.ts). `new URL` is right.
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return "badUrl";
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url : "scheme";
}

/**
 * Remembers every (url, alt) pair of a shard by a 64-bit hash of it, so a pair seen again
 * anywhere in the shard is a duplicate (the "hash of url+alt"). The hashes sit in one
 * open-addressing table of 32-bit halves: 16 to 32 bytes a pair and no string kept alive,
 * where a Map of URL to alts held about 220 bytes a pair and kept every URL and alt for the
 * garbage collector to copy and trace.
 *
 * Two different pairs share a hash with probability about n² / 2^65 for n pairs (2·10⁻⁸ for
 * a million pairs): the later one would be counted as a duplicate.
 */
export class Deduper {
  /** Slot i holds a hash in [2i] (high half) and [2i + 1] (low half); 0, 0 is an empty slot. */
  private table = new Int32Array(2 * INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  private count = 0;

  /** True the first time this pair is offered, false after. */
  firstTime(pair: Candidate): boolean {
    hashPair(pair.url, pair.alt);
    const high = hashHigh;
    // 0, 0 marks an empty slot, so a hash of 0, 0 is stored as 0, 1 (sharing that slot's hash).
    const low = (hashHigh | hashLow) === 0 ? 1 : hashLow;
    const table = this.table;
    for (let slot = low & this.mask; ; slot = (slot + 1) & this.mask) {
      const h = table[2 * slot]!;
      const l = table[2 * slot + 1]!;
      if (h === high && l === low) return false;
      if (h === 0 && l === 0) {
        table[2 * slot] = high;
        table[2 * slot + 1] = low;
        break;
      }
    }
    this.count++;
    // Kept at most half full, so a probe rarely goes past a slot or two.
    if (2 * this.count > this.mask + 1) this.grow();
    return true;
  }

  /** Distinct pairs seen. */
  get size(): number {
    return this.count;
  }

  /** Doubles the table and puts every hash back (its slot depends on the table's size). */
  private grow(): void {
    const old = this.table;
    const slots = 2 * (this.mask + 1);
    const table = new Int32Array(2 * slots);
    const mask = slots - 1;
    for (let i = 0; i < old.length; i += 2) {
      const high = old[i]!;
      const low = old[i + 1]!;
      if (high === 0 && low === 0) continue;
      let slot = low & mask;
      while (table[2 * slot] !== 0 || table[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
      table[2 * slot] = high;
      table[2 * slot + 1] = low;
    }
    this.table = table;
    this.mask = mask;
  }
}

const INITIAL_SLOTS = 1 << 12;

/** hashPair's result (two 32-bit halves), as module state so a call allocates nothing. */
let hashHigh = 0;
let hashLow = 0;

/**
 * A 64-bit hash of (url, alt) over their UTF-16 code units, into hashHigh and hashLow: two
 * multiply-xor lanes with different multipliers (cyrb53's scheme, keeping all 64 bits), the
 * URL's length mixed in first so ("ab", "c") and ("a", "bc") differ.
 */
function hashPair(url: string, alt: string): void {
  let h1 = 0xdeadbeef ^ url.length;
  let h2 = 0x41c6ce57 ^ url.length;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  for (let i = 0; i < alt.length; i++) {
    const c = alt.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  hashHigh = h1 | 0;
  hashLow = h2 | 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
