import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { StorageError } from "./errors.ts";
import { rootPrefix } from "./keys.ts";
import type { StorageScheme } from "./types.ts";

/** A storage URL taken apart. `query` holds the URL's options, checked per backend later. */
export type ParsedUrl =
  | { scheme: "memory"; name: string; root: string; query: Record<string, string> }
  | { scheme: "file"; path: string; query: Record<string, string> }
  | { scheme: "s3" | "gs"; bucket: string; root: string; query: Record<string, string> }
  | { scheme: "rsync"; user?: string; host: string; port?: number; module: string; path: string; query: Record<string, string> }
  | { scheme: "ssh"; user?: string; host: string; port?: number; path: string; query: Record<string, string> };

// [user@]host:/path — scp-style rsync-over-ssh, no scheme. The host may not contain "/"
// (that would be a relative local path with a colon in it).
const SCP_LIKE = /^(?:([^@/:\s]+)@)?([A-Za-z0-9.\-_]+|\[[0-9a-fA-F:]+\]):(\/.*)$/;

function invalid(url: string, why: string): StorageError {
  return new StorageError("ConfigInvalid", `storage URL '${redact(url)}': ${why}`);
}

/** Never echo a password someone put into a URL. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, "//$1:***@");
}

function queryOf(u: URL): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [k, v] of u.searchParams) query[k] = v;
  return query;
}

function splitQuery(raw: string): [string, Record<string, string>] {
  const q = raw.indexOf("?");
  if (q < 0) return [raw, {}];
  return [raw.slice(0, q), Object.fromEntries(new URLSearchParams(raw.slice(q + 1)))];
}

export function parseStorageUrl(raw: string, cwd = process.cwd()): ParsedUrl {
  if (typeof raw !== "string" || raw.trim() === "") throw invalid(String(raw), "empty");
  const scp = SCP_LIKE.exec(raw);
  if (scp !== null && !raw.includes("://")) {
    const [path, query] = splitQuery(scp[3]!);
    return { scheme: "ssh", user: scp[1], host: scp[2]!, path: decodeURIComponent(path), query };
  }
  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw);
  if (schemeMatch === null) {
    // A plain path, absolute or relative to the working directory.
    const [path, query] = splitQuery(raw);
    return { scheme: "file", path: isAbsolute(path) ? resolve(path) : resolve(cwd, path), query };
  }
  // WHATWG URL parsing would quietly resolve "s3://b/p/../../x" to "s3://b/x": refuse instead.
  const pathPart = raw.slice(schemeMatch[0].length).split(/[?#]/)[0]!;
  if (schemeMatch[1]!.toLowerCase() !== "file" && pathPart.split("/").some((seg) => seg === ".." || seg.toLowerCase() === "%2e%2e")) {
    throw invalid(raw, "'..' segments are not allowed in storage URLs");
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch (error) {
    throw invalid(raw, `not a URL (${(error as Error).message})`);
  }
  if (u.password !== "") throw invalid(raw, "passwords do not belong in storage URLs; use a password file or the SDK's credential chain");
  const query = queryOf(u);
  const path = decodeURIComponent(u.pathname);
  const scheme = schemeMatch[1]!.toLowerCase();
  switch (scheme) {
    case "memory":
      if (u.hostname === "") throw invalid(raw, "memory URLs need a name: memory://name/prefix");
      return { scheme: "memory", name: u.hostname, root: prefixOf(raw, path), query };
    case "file":
      if (u.hostname !== "" && u.hostname !== "localhost") throw invalid(raw, "file URLs name a local path: file:///abs/path");
      return { scheme: "file", path: resolve(fileURLToPath(`file://${u.pathname}`)), query };
    case "s3":
    case "gs":
      if (u.hostname === "") throw invalid(raw, `${scheme} URLs need a bucket: ${scheme}://bucket/prefix`);
      return { scheme, bucket: u.hostname, root: prefixOf(raw, path), query };
    case "rsync": {
      if (u.hostname === "") throw invalid(raw, "rsync URLs need a host: rsync://[user@]host[:port]/module/path");
      const [, module = "", ...rest] = path.split("/");
      if (module === "") throw invalid(raw, "rsync URLs need a module: rsync://host/module/path");
      return { scheme: "rsync", user: u.username || undefined, host: u.hostname, port: portOf(raw, u), module, path: prefixOf(raw, rest.join("/")), query };
    }
    case "ssh":
      if (u.hostname === "") throw invalid(raw, "ssh URLs need a host: ssh://[user@]host[:port]/abs/path");
      return { scheme: "ssh", user: u.username || undefined, host: u.hostname, port: portOf(raw, u), path, query };
    default:
      throw invalid(raw, `unknown scheme '${scheme}' (use memory, file, s3, gs, rsync, ssh or [user@]host:/path)`);
  }
}

function portOf(raw: string, u: URL): number | undefined {
  if (u.port === "") return undefined;
  const port = Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(raw, `bad port '${u.port}'`);
  return port;
}

function prefixOf(raw: string, path: string): string {
  try {
    return rootPrefix(path);
  } catch (error) {
    throw invalid(raw, (error as Error).message);
  }
}

export const SCHEMES: readonly StorageScheme[] = ["memory", "file", "s3", "gs", "rsync", "ssh"];
