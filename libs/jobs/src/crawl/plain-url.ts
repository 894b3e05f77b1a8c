// A shortcut past `new URL(raw, base)` for the image links that need no parsing to resolve.
//
// Why: resolving every `IMG@/src` link with `new URL(raw, base)` was the costliest step of link
// extraction (Node's URL also re-parses the base, passed as its href, for every link). Most links
// are plain: an ASCII host, a path of printable characters with at most leading `../` segments.
// For those the WHATWG parser does nothing but lower-case the scheme and host, percent-encode
// the path and join the link to the base, so the result can be written down directly. Anything
// else (a tab, non-ASCII outside the path, a `..` inside the path, a punycode or numeric host, a
// port, ...) returns undefined and goes through `new URL`, so what comes out is exactly what
// `new URL(raw, base)` gives (test/crawl-plain-url.test.ts compares them, on tricky and on
// random links).

/** A resolved http(s) URL: its href and pathname, as `URL` would report them. */
export interface PlainUrl {
  href: string;
  pathname: string;
}

/** What resolving against a base needs, read once per page (URL's getters each build a string). */
export interface PlainBase {
  /** "http:" or "https:". */
  protocol: string;
  /** protocol, "//", host (with a port when it has one). */
  origin: string;
  /** The base's path up to its last '/'. */
  dir: string;
}

/**
 * Characters that the URL parser keeps as they are in a path, query and fragment of an http(s)
 * URL: no percent-encoding (space, quotes, `<>`, backtick, braces, `^`, `|`), no `\` (read as
 * `/`), no tab, newline or other control (removed), nothing non-ASCII. `%` stays as written.
 */
const PLAIN_CHARS = /^[A-Za-z0-9\-._~!$&()*+,;=:@/%?#]+$/;

/**
 * What the parser percent-encodes in a path of an http(s) URL, besides controls: encodeURIComponent
 * writes these exactly as it does (upper-case hex of the UTF-8 bytes).
 */
const PATH_ESCAPED = /[ "<>`{}\u0080-\uffff]+/g;

/**
 * A host the parser only lower-cases: dot-separated labels of ASCII letters, digits and `-`.
 * The last label starts with a letter, so the host is never read as an IPv4 address ("1.2",
 * "0x7f"); labels holding `xn--` (punycode, which is decoded and checked) are left to the
 * parser by plainHost.
 */
const PLAIN_HOST = /^(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*$/i;

/** `http://` or `https://` in any case, the start of an absolute link. */
const HTTP_PREFIX = /^https?:\/\//i;

/** A `.` or `..` segment, which the parser removes (with its parent, for `..`). */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/** Leading `./` and `../` segments of a relative path, which only climb the base's directory. */
const LEADING_DOTS = /^(?:\.\.?\/)+/;

/** A scheme (RFC 3986 / WHATWG spelling) and its ':' at the very start of a link. */
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** Schemes the URL parser treats as special: they have hosts, which can fail to parse. */
const SPECIAL_SCHEMES = new Set(["http:", "https:", "ftp:", "file:", "ws:", "wss:"]);

/** The base as a PlainBase; undefined when it is not http(s) or carries credentials (which a resolved URL would keep). */
export function plainBase(base: URL | undefined): PlainBase | undefined {
  if (base === undefined || (base.protocol !== "http:" && base.protocol !== "https:")) return undefined;
  if (base.username !== "" || base.password !== "") return undefined;
  const path = base.pathname;
  return { protocol: base.protocol, origin: `${base.protocol}//${base.host}`, dir: path.slice(0, path.lastIndexOf("/") + 1) };
}

/**
 * True when `raw` certainly parses to a URL whose scheme is neither http nor https (`data:…`,
 * `javascript:…`, `mailto:…`): a scheme that is not special, with no '/' after it, so what
 * follows is an opaque path, which cannot fail to parse. False means "parse it to know".
 */
export function hasOpaqueOtherScheme(raw: string): boolean {
  const scheme = SCHEME.exec(raw)?.[0];
  if (scheme === undefined) return false;
  // A tab or newline here would be removed and could bring a '/' next to the ':'.
  const next = raw.charCodeAt(scheme.length); // NaN after "mailto:", which parses
  if (next === 0x2f || next <= 0x20) return false;
  return !SPECIAL_SCHEMES.has(scheme.toLowerCase());
}

/**
 * `new URL(link, base)` as `{ href, pathname }` when `link` is plain enough to resolve without
 * parsing (see the file's header), else undefined: the caller then parses it. `link` is one of:
 * an absolute `http://host/…` or `https://host/…`, a scheme-relative `//host/…`, a path from
 * the root `/…`, or a path relative to the base's directory (`a/b.jpg`, `../b.jpg?w=1`).
 * Its path may hold characters the parser percent-encodes (see escapePath). `base` is
 * plainBase() of the URL `link` resolves against; links that need a base get undefined
 * without one.
 */
export function resolvePlainUrl(link: string, base: PlainBase | undefined): PlainUrl | undefined {
  const raw = PLAIN_CHARS.test(link) ? link : escapePath(link);
  // A percent-encoded dot ("%2e") can make a dot segment: leave those to the parser.
  if (raw === undefined || raw.includes("%2e") || raw.includes("%2E")) return undefined;
  const absolute = HTTP_PREFIX.exec(raw)?.[0];
  if (absolute !== undefined) return withHost(absolute.slice(0, -2).toLowerCase(), raw.slice(absolute.length));
  if (base === undefined) return undefined;
  if (raw.startsWith("//")) return withHost(base.protocol, raw.slice(2));
  if (raw.startsWith("/")) return withPath(base.origin, "", raw);
  // Relative to the base's directory. A ':' in the first segment could make "x:" a scheme, and
  // a link of only a query or fragment keeps the base's path: both go to the parser.
  const firstSegment = raw.slice(0, raw.search(/[/?#]|$/));
  if (firstSegment === "" || firstSegment.includes(":")) return undefined;
  const dots = LEADING_DOTS.exec(raw)?.[0] ?? "";
  return withPath(base.origin, climb(base.dir, dots), raw.slice(dots.length));
}

/**
 * `link` with its path percent-encoded as the parser encodes a path (space, `"<>\`{}` and
 * non-ASCII, as UTF-8), when that leaves it plain; else undefined. Image paths with spaces or
 * accents are common ("/bilder/größe.jpg"), and escaping them is much cheaper than parsing.
 */
function escapePath(link: string): string | undefined {
  // Leading and trailing spaces and controls are stripped by the parser, not encoded.
  if (link.charCodeAt(0) <= 0x20 || link.charCodeAt(link.length - 1) <= 0x20) return undefined;
  const pathEnd = link.search(/[?#]|$/);
  let path: string;
  try {
    path = link.slice(0, pathEnd).replace(PATH_ESCAPED, (run) => encodeURIComponent(run));
  } catch {
    return undefined; // a lone surrogate, which the parser would replace with U+FFFD
  }
  const escaped = path + link.slice(pathEnd);
  return PLAIN_CHARS.test(escaped) ? escaped : undefined;
}

/** `host/rest` (what follows "//") under `protocol`, when the host is plain and a path follows it. */
function withHost(protocol: string, afterSlashes: string): PlainUrl | undefined {
  // The authority ends at the first '/', '?' or '#'; only a '/' there keeps the href as written
  // (without one the parser adds the root path).
  const end = afterSlashes.search(/[/?#]/);
  if (end < 0 || afterSlashes[end] !== "/") return undefined;
  const host = plainHost(afterSlashes.slice(0, end));
  if (host === undefined) return undefined;
  return withPath(`${protocol}//${host}`, "", afterSlashes.slice(end));
}

/**
 * `origin + dir + rest`, where `rest` is a path (relative to `dir`) with maybe a query and a
 * fragment; undefined when the path has dot segments.
 */
function withPath(origin: string, dir: string, rest: string): PlainUrl | undefined {
  const pathEnd = rest.search(/[?#]|$/);
  const path = rest.slice(0, pathEnd);
  if (DOT_SEGMENT.test(path)) return undefined;
  return { href: `${origin}${dir}${rest}`, pathname: `${dir}${path}` };
}

/** The host lower-cased, as the parser writes it; undefined when the parser would do more. */
function plainHost(host: string): string | undefined {
  if (!PLAIN_HOST.test(host)) return undefined;
  const lower = host.toLowerCase();
  return lower.includes("xn--") ? undefined : lower;
}

/** `dir` (ending in '/') after the leading `./` and `../` segments `dots`: one level up per `../`, never above the root. */
function climb(dir: string, dots: string): string {
  let out = dir;
  for (const segment of dots.split("/")) {
    if (segment === "..") out = out.slice(0, out.lastIndexOf("/", out.length - 2) + 1) || "/";
  }
  return out;
}
