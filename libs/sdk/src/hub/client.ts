import type { Dataset } from "@drover/protocol";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import picomatch from "picomatch";
import { CacheLayout, checkPath, isSlug, urlPath } from "./cache-layout.ts";
import { errorOf, HubError } from "./errors.ts";
import { fetchVerified, stampOf } from "./fetch-verified.ts";

export interface DatasetHubClientOptions {
  /** The coordinator's base URL, e.g. `http://127.0.0.1:7400`. */
  url: string;
  /** A Drover token; omit to read public datasets only. */
  token?: string | undefined;
  /** Where manifests and files are cached. */
  cacheDir: string;
}

/** One file of a manifest. */
export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
  modified: number;
}

export interface Manifest {
  dataset: string;
  files: number;
  bytes: number;
  entries: ManifestEntry[];
}

export interface DownloadProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** The file that just finished. */
  path: string;
}

export interface DownloadDatasetOptions {
  /** Only these paths (each must be in the manifest). */
  files?: string[];
  /** A glob (`images/**\/*.jpg`) or a predicate over manifest entries. */
  filter?: string | ((entry: ManifestEntry) => boolean);
  /** Files at once; default 8. */
  concurrency?: number;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}

interface CachedManifest {
  etag: string | null;
  manifest: Manifest;
}

/**
 * DSX Hub's SDK on Drover's hub: list datasets, read manifests (cached, revalidated with
 * ETag) and files (cached, written atomically, verified by sha256, resumed with Range after
 * an interruption). A cached file is checked against the manifest before it is returned —
 * by hash the first time this client sees it and whenever its size, time or inode change —
 * so a corrupt or partial cache entry is never handed out: it is downloaded again.
 * Concurrent `getFile` calls for one file share one download.
 */
export class DatasetHubClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly layout: CacheLayout;
  /** Manifests this client has fetched or revalidated, by dataset. */
  private readonly manifests = new Map<string, { manifest: Manifest; byPath: Map<string, ManifestEntry> }>();
  /** Cached files already verified by hash, by local path → `stamp:sha256` (a new manifest sha re-checks). */
  private readonly verified = new Map<string, string>();
  /** Downloads in flight, by local path: single-flight. */
  private readonly inFlight = new Map<string, Promise<string>>();
  /** Byte listeners of the callers waiting on each download. */
  private readonly onBytes = new Map<string, Set<(delta: number) => void>>();

  constructor(options: DatasetHubClientOptions) {
    this.base = `${options.url.replace(/\/+$/, "")}/hub`;
    this.headers = options.token ? { authorization: `Bearer ${options.token}` } : {};
    this.layout = new CacheLayout(options.cacheDir);
  }

  private async get(path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(`${this.base}${path}`, { headers: { ...this.headers, ...headers }, signal: signal ?? null });
    } catch (error) {
      throw new HubError("UNAVAILABLE", `GET ${this.base}${path}: ${(error as Error).message}`, undefined, { cause: error });
    }
  }

  /** The datasets this token may read (public ones without a token). */
  async listDatasets(): Promise<Dataset[]> {
    const res = await this.get("/datasets");
    if (!res.ok) throw await errorOf(res, "list datasets");
    return (await res.json()) as Dataset[];
  }

  /**
   * The dataset's manifest. A cached copy is revalidated with If-None-Match (a 304 costs no
   * body); when the hub cannot be reached, the cached copy is returned as it is.
   */
  async getManifest(dataset: string, options: { signal?: AbortSignal } = {}): Promise<Manifest> {
    const file = this.layout.manifest(dataset);
    const cached = await readFile(file, "utf8").then((t) => JSON.parse(t) as CachedManifest).catch(() => undefined);
    let res: Response;
    try {
      res = await this.get(`/datasets/${encodeURIComponent(dataset)}/manifest`, cached?.etag ? { "if-none-match": cached.etag } : {}, options.signal);
    } catch (error) {
      if (cached && error instanceof HubError && error.code === "UNAVAILABLE") return this.remember(dataset, cached.manifest);
      throw error;
    }
    if (res.status === 304 && cached) return this.remember(dataset, cached.manifest);
    if (!res.ok) throw await errorOf(res, `manifest of '${dataset}'`);
    const manifest = (await res.json()) as Manifest;
    await writeAtomic(file, JSON.stringify({ etag: res.headers.get("etag"), manifest } satisfies CachedManifest));
    return this.remember(dataset, manifest);
  }

  private remember(dataset: string, manifest: Manifest): Manifest {
    this.manifests.set(dataset, { manifest, byPath: new Map(manifest.entries.map((e) => [e.path, e])) });
    return manifest;
  }

  private async entry(dataset: string, path: string): Promise<ManifestEntry> {
    checkPath(path);
    const known = this.manifests.get(dataset) ?? (await this.getManifest(dataset), this.manifests.get(dataset)!);
    const entry = known.byPath.get(path);
    if (!entry) throw new HubError("NOT_FOUND", `dataset '${dataset}' has no file '${path}' in its manifest`, 404);
    return entry;
  }

  /** True when the cached copy at `local` is whole and matches `entry`; a bad one is removed. */
  private async cachedOk(local: string, entry: ManifestEntry): Promise<boolean> {
    const stamp = await stampOf(local);
    if (stamp === undefined) return false;
    if (this.verified.get(local) === `${stamp}:${entry.sha256}`) return true;
    const { size, sha256 } = await hashFile(local);
    if (size === entry.size && sha256 === entry.sha256) {
      this.verified.set(local, `${stamp}:${entry.sha256}`);
      return true;
    }
    // Corrupt, truncated or from another version: never returned, fetched again.
    this.verified.delete(local);
    await rm(local, { force: true });
    return false;
  }

  /** The file in the cache (downloaded, resumed or repaired as needed); returns its local path. */
  async getFile(dataset: string, path: string, options: { signal?: AbortSignal; onBytes?: (delta: number) => void } = {}): Promise<string> {
    const entry = await this.entry(dataset, path);
    const local = this.layout.file(dataset, path);
    // One download per file, shared by every caller; each caller's own signal only stops its
    // own wait (the download goes on for the others, and for the cache).
    let work = this.inFlight.get(local);
    if (work === undefined) {
      const started = (async () => {
        if (await this.cachedOk(local, entry)) return local;
        await fetchVerified(
          `${this.base}/datasets/${encodeURIComponent(dataset)}/files/${urlPath(path)}`,
          this.headers,
          this.layout.partial(dataset, path, entry.sha256),
          local,
          entry,
          { onBytes: (n) => this.onBytes.get(local)?.forEach((f) => f(n)) },
        );
        const stamp = await stampOf(local);
        if (stamp) this.verified.set(local, `${stamp}:${entry.sha256}`);
        return local;
      })().finally(() => {
        this.inFlight.delete(local);
        this.onBytes.delete(local);
      });
      this.inFlight.set(local, (work = started));
    }
    if (options.onBytes) {
      const listeners = this.onBytes.get(local) ?? new Set();
      listeners.add(options.onBytes);
      this.onBytes.set(local, listeners);
    }
    return options.signal ? untilAborted(work, options.signal) : work;
  }

  /** The file's bytes, verified by sha256; from the cache when it holds a good copy, else from the hub without writing to disk. */
  async getFileBytes(dataset: string, path: string, options: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const entry = await this.entry(dataset, path);
    const local = this.layout.file(dataset, path);
    if (await this.cachedOk(local, entry)) return readFile(local);
    const res = await this.get(`/datasets/${encodeURIComponent(dataset)}/files/${urlPath(path)}`, {}, options.signal);
    if (!res.ok) throw await errorOf(res, `'${path}' of '${dataset}'`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (bytes.length !== entry.size || sha256 !== entry.sha256) {
      throw new HubError("CHECKSUM_MISMATCH", `'${path}' of '${dataset}': got ${bytes.length} bytes with sha256 ${sha256}, the manifest says ${entry.size} with ${entry.sha256}`);
    }
    return bytes;
  }

  /** Downloads the dataset (or the files chosen) into the cache, `concurrency` at a time; returns the local paths. */
  async downloadDataset(dataset: string, options: DownloadDatasetOptions = {}): Promise<string[]> {
    const manifest = await this.getManifest(dataset, options.signal ? { signal: options.signal } : {});
    let entries = manifest.entries;
    if (options.files !== undefined) {
      const byPath = this.manifests.get(dataset)!.byPath;
      entries = options.files.map((p) => {
        const e = byPath.get(checkPath(p));
        if (!e) throw new HubError("NOT_FOUND", `dataset '${dataset}' has no file '${p}' in its manifest`, 404);
        return e;
      });
    }
    const { filter } = options;
    if (filter !== undefined) {
      const glob = typeof filter === "string" ? picomatch(filter, { dot: true }) : undefined;
      entries = entries.filter((e) => (glob ? glob(e.path) : (filter as (entry: ManifestEntry) => boolean)(e)));
    }
    const total = { files: entries.length, bytes: entries.reduce((n, e) => n + e.size, 0) };
    const done = { files: 0, bytes: 0 };
    const out: string[] = new Array<string>(entries.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const i = next++;
        const e = entries[i]!;
        options.signal?.throwIfAborted();
        out[i] = await this.getFile(dataset, e.path, options.signal ? { signal: options.signal } : {});
        done.files++;
        done.bytes += e.size;
        options.onProgress?.({ filesDone: done.files, filesTotal: total.files, bytesDone: done.bytes, bytesTotal: total.bytes, path: e.path });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 8, entries.length)) }, worker));
    return out;
  }

  /**
   * Removes a dataset's cache (files, manifest, partial downloads), or every dataset's;
   * returns the bytes freed. Only what the cache put there goes: with `cacheDir: "."`, other
   * files and folders whose names are not dataset slugs stay.
   */
  async clearCache(dataset?: string): Promise<number> {
    const targets =
      dataset !== undefined
        ? [this.layout.datasetDir(dataset), this.layout.manifest(dataset), this.layout.partialDir(dataset)]
        : [this.layout.meta(), ...(await readdir(this.layout.root, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory() && isSlug(e.name)).map((e) => join(this.layout.root, e.name))];
    let freed = 0;
    for (const t of targets) {
      freed += await sizeOf(t);
      await rm(t, { recursive: true, force: true });
    }
    for (const local of [...this.verified.keys()]) if (dataset === undefined || local.startsWith(this.layout.datasetDir(dataset))) this.verified.delete(local);
    if (dataset === undefined) this.manifests.clear();
    else this.manifests.delete(dataset);
    return freed;
  }

  /** Bytes the cache holds for a dataset (files, manifest, partial downloads), or for all datasets. */
  async getCacheSize(dataset?: string): Promise<number> {
    if (dataset === undefined) {
      const dirs = (await readdir(this.layout.root, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory() && isSlug(e.name));
      let total = await sizeOf(this.layout.meta());
      for (const d of dirs) total += await sizeOf(join(this.layout.root, d.name));
      return total;
    }
    return (await sizeOf(this.layout.datasetDir(dataset))) + (await sizeOf(this.layout.manifest(dataset))) + (await sizeOf(this.layout.partialDir(dataset)));
  }
}

async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest("hex") };
}

/** Resolves like `work`, or rejects when `signal` aborts first (the work itself goes on). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => (signal.removeEventListener("abort", onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener("abort", onAbort), reject(e as Error)),
    );
  });
}

/** Bytes of regular files under `path` (or of the file itself); 0 when missing. */
async function sizeOf(path: string): Promise<number> {
  let s;
  try {
    s = await stat(path);
  } catch {
    return 0;
  }
  if (s.isFile()) return s.size;
  if (!s.isDirectory()) return 0;
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) total += await sizeOf(join(path, entry.name));
  return total;
}

/** Temp file + rename: a reader sees the old manifest or the new one, never half. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
