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
 * Remembers every (url, alt) pair of a shard, so a pair seen again anywhere in the shard is a
 * duplicate. Keyed by URL, holding the alt (or, for a URL seen with several alts, a set of
 * them): exact, and a third of the time a sha256 per pair took, for about 220 bytes per pair in
 * memory against sha256's 90 (measured with 100-character URLs and 60-character alts).
 */
export class Deduper {
  private readonly alts = new Map<string, string | Set<string>>();
  private count = 0;

  /** True the first time this pair is offered, false after. */
  firstTime(pair: Candidate): boolean {
    const seen = this.alts.get(pair.url);
    if (seen === undefined) this.alts.set(pair.url, pair.alt);
    else if (typeof seen === "string") {
      if (seen === pair.alt) return false;
      this.alts.set(pair.url, new Set([seen, pair.alt]));
    } else {
      if (seen.has(pair.alt)) return false;
      seen.add(pair.alt);
    }
    this.count++;
    return true;
  }

  /** Distinct pairs seen. */
  get size(): number {
    return this.count;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
