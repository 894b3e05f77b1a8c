import { StorageError } from "./errors.ts";

/**
 * Keys are checked here once, before any backend sees them, so that no key can leave the
 * storage root: no empty, "." or ".." segment, no leading "/", no NUL. Backends may then
 * join a key onto their root without re-checking.
 */
const MAX_KEY_BYTES = 1024;

function checkSegments(value: string, what: "key" | "prefix", allowTrailingSlash: boolean): void {
  if (value.includes("\0")) throw new StorageError("InvalidKey", `${what} '${printable(value)}' contains a NUL byte`, { key: value });
  if (value.startsWith("/")) {
    throw new StorageError("PermissionDenied", `${what} '${value}' is absolute; keys are relative to the storage root`, { key: value });
  }
  if (Buffer.byteLength(value) > MAX_KEY_BYTES) {
    throw new StorageError("InvalidKey", `${what} is longer than ${MAX_KEY_BYTES} bytes`, { key: value.slice(0, 64) });
  }
  const segments = value.split("/");
  if (allowTrailingSlash && segments.at(-1) === "") segments.pop();
  for (const segment of segments) {
    if (segment === "..") {
      throw new StorageError("PermissionDenied", `${what} '${value}' has a '..' segment and would leave the storage root`, { key: value });
    }
    if (segment === "" || segment === ".") {
      throw new StorageError("InvalidKey", `${what} '${value}' has an empty or '.' segment`, { key: value });
    }
  }
}

function printable(value: string): string {
  return value.replaceAll("\0", "\\0");
}

/** A key naming one object: non-empty, no trailing "/". */
export function checkKey(key: string): string {
  if (typeof key !== "string" || key.length === 0) throw new StorageError("InvalidKey", "key must be a non-empty string", { key: String(key) });
  if (key.endsWith("/")) throw new StorageError("InvalidKey", `key '${key}' ends with '/'; objects have names, not directories`, { key });
  checkSegments(key, "key", false);
  return key;
}

/** A list/delete prefix: "" (everything) or a key-like string, optionally ending in "/". */
export function checkPrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === "") return "";
  if (typeof prefix !== "string") throw new StorageError("InvalidKey", "prefix must be a string", { key: String(prefix) });
  checkSegments(prefix, "prefix", true);
  return prefix;
}

/**
 * The prefix of a directory transfer: "" or a checked prefix ending in "/". "runs/7" and
 * "runs/7/" name the same directory: without the slash, uploads would land beside it
 * ("runs/7a.bin"), and a download's relative paths could start in the middle of a name.
 */
export function dirPrefix(prefix: string | undefined): string {
  const checked = checkPrefix(prefix);
  return checked === "" || checked.endsWith("/") ? checked : `${checked}/`;
}

/**
 * The path of `key` below a directory transfer's `prefix` (from dirPrefix), checked like a
 * key: a listing that returns a key outside the prefix is refused, so a hostile or broken
 * listing cannot place a file anywhere but under the destination.
 */
export function relativeKey(key: string, prefix: string): string {
  if (!key.startsWith(prefix)) throw new StorageError("InvalidKey", `listing returned '${key}', which is not under '${prefix}'`, { key });
  return checkKey(key.slice(prefix.length));
}

/** Joins a root prefix ("" or "a/b/") and a relative key. */
export function joinKey(root: string, key: string): string {
  return root + key;
}

/** Normalises a URL path into a root prefix: "" or "a/b/" (no leading, one trailing slash). */
export function rootPrefix(path: string): string {
  const trimmed = path.replace(/^\/+/, "").replace(/\/+$/, "");
  if (trimmed === "") return "";
  checkSegments(trimmed, "prefix", false);
  return `${trimmed}/`;
}

/**
 * Compares keys by their UTF-8 bytes, the order S3 and GCS list in. Below the surrogates
 * (U+D800) UTF-16 code units sort as UTF-8 bytes do, so the strings are compared as they
 * are up to the first difference; only a difference at or above U+D800 encodes both keys.
 * (Encoding every pair cost a listing of 2,000 files 10 ms in its sort.)
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x < y ? -1 : 1;
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
