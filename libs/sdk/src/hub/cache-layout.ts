import { createHash } from "node:crypto";
import { join, resolve, sep } from "node:path";
import { HubError } from "./errors.ts";

/** Bookkeeping lives beside the datasets under a name no dataset slug can have. */
const META = ".drover-hub";

/**
 * Where things go in a hub cache directory:
 * - `<cache>/<dataset>/<path>`: verified files, as the DSX Hub SDK kept them;
 * - `<cache>/.drover-hub/manifests/<dataset>.json`: the manifest with its ETag;
 * - `<cache>/.drover-hub/partial/<dataset>/<hash of path>-<sha256>`: interrupted downloads,
 *   resumed with Range.
 */
export class CacheLayout {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }

  datasetDir(dataset: string): string {
    return join(this.root, checkSlug(dataset));
  }

  /** The cached file for a manifest path; a path that would leave the dataset is refused. */
  file(dataset: string, path: string): string {
    checkPath(path);
    const dir = this.datasetDir(dataset);
    const full = resolve(dir, path);
    if (!full.startsWith(dir + sep)) throw new HubError("INVALID_PATH", `path ${JSON.stringify(path)} leaves the dataset`);
    return full;
  }

  manifest(dataset: string): string {
    return join(this.root, META, "manifests", `${checkSlug(dataset)}.json`);
  }

  partialDir(dataset: string): string {
    return join(this.root, META, "partial", checkSlug(dataset));
  }

  /** One partial file per (path, content): two files with the same bytes never share one. */
  partial(dataset: string, path: string, sha256: string): string {
    return join(this.partialDir(dataset), `${createHash("sha256").update(path).digest("hex").slice(0, 32)}-${sha256}`);
  }

  meta(): string {
    return join(this.root, META);
  }
}

/** Whether a directory entry of the cache root can be a dataset's cache. */
export function isSlug(name: string): boolean {
  return /^[a-z0-9][a-z0-9_-]{0,99}$/.test(name);
}

function checkSlug(dataset: string): string {
  if (!isSlug(dataset)) throw new HubError("INVALID_PATH", `dataset ${JSON.stringify(dataset)} is not a dataset slug`);
  return dataset;
}

/** The same rule as the server's: relative, no empty, `.` or `..` segment, no backslash. */
export function checkPath(path: string): string {
  const bad = path === "" || path.startsWith("/") || /[\u0000-\u001f\\]/.test(path) || path.split("/").some((s) => s === "" || s === "." || s === "..");
  if (bad) throw new HubError("INVALID_PATH", `path ${JSON.stringify(path)} is not a file path inside a dataset`);
  return path;
}

/** A path as a URL path: each segment encoded, the slashes kept. */
export function urlPath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}
