// Storage URLs of single objects. A storage is opened at a "directory" URL and addressed by
// key, so an object URL is split into the two, and an artifact's URL is the root plus its key.
// Query options (s3 ?region=…, ?endpoint=…) stay on the root, where openStorage reads them.

/** `s3://b/run/x.wat.gz?region=eu` → `{ root: "s3://b/run/?region=eu", key: "x.wat.gz" }`. */
export function splitObjectUrl(url: string): { root: string; key: string } {
  const { base, query } = splitQuery(url);
  const slash = base.lastIndexOf("/");
  const key = base.slice(slash + 1);
  if (slash < 0 || key === "" || /^[a-z][a-z0-9+.-]*:\/\/[^/]*$/i.test(base)) {
    throw new TypeError(`'${url}' does not name an object (expected a URL or path ending in a file name)`);
  }
  // URL forms carry percent-encoded keys; plain paths are taken as written.
  return { root: base.slice(0, slash + 1) + query, key: base.includes("://") ? decodeURIComponent(key) : key };
}

/** `("s3://b/out?region=eu", "7/1/pairs.parquet")` → `s3://b/out/7/1/pairs.parquet?region=eu`. */
export function joinObjectUrl(root: string, key: string): string {
  const { base, query } = splitQuery(root);
  return `${base.endsWith("/") ? base : `${base}/`}${key}${query}`;
}

function splitQuery(url: string): { base: string; query: string } {
  const q = url.indexOf("?");
  return q < 0 ? { base: url, query: "" } : { base: url.slice(0, q), query: url.slice(q) };
}
