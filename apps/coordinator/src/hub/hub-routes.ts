// The dataset hub: datasets, their manifests and their files over plain HTTP, streamed from
// whichever storage backend holds each dataset. Bearer tokens as for tRPC; public datasets
// are readable without one. Errors are JSON: { error: { code, message } }.
import { DroverError, type Principal } from "@drover/protocol";
import { isStorageError, StoragePool } from "@drover/storage";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { createHash } from "node:crypto";
import type { DatasetsServiceImpl } from "../services/datasets.ts";
import { clearObjectHeaders, etagMatches, ObjectChangedError, releaseOnClose, sendObject } from "../http/send-object.ts";
import { filePathOf, principalOf, statusOf } from "./hub-request.ts";
import { ManifestBodies, type ManifestBody } from "./manifest-bodies.ts";
import { CACHEABLE_BYTES, ObjectCache } from "./object-cache.ts";

export interface HubOptions {
  datasets: DatasetsServiceImpl;
  authenticate: (token: string) => Principal | null;
  /** Memory for small files (0: none). */
  cacheBytes: number;
}

/** What both HTTP faces of the hub (this one and the DSX Hub API) share. */
export class HubData {
  readonly pool = new StoragePool({ idleCloseMs: 60_000 });
  readonly bodies = new ManifestBodies();
  readonly cache: ObjectCache;
  constructor(readonly opts: HubOptions) {
    this.cache = new ObjectCache(opts.cacheBytes);
  }

  principal(request: FastifyRequest): Principal | null {
    return principalOf(request, this.opts.authenticate);
  }

  /**
   * The dataset, if the caller may read it. Without a token, anything but a public dataset
   * is 401 (whether it exists or not: the answer must not reveal private slugs); with one,
   * another user's private dataset is 404 like a missing one.
   */
  dataset(by: Principal | null, slug: string) {
    try {
      return this.opts.datasets.hubDataset(by, slug);
    } catch (error) {
      if (by === null && error instanceof DroverError && error.code === "NOT_FOUND") {
        throw new DroverError("UNAUTHENTICATED", `dataset '${slug}' is not public (or does not exist): send a bearer token`);
      }
      throw error;
    }
  }

  /**
   * A small file's bytes: from memory, or read whole from storage, checked against the
   * manifest's size and sha256, and kept. A mismatch is the manifest's staleness, not data.
   */
  private async smallFile(storagePrefix: string, path: string, file: { size: number; sha256: string }): Promise<Buffer> {
    const key = ObjectCache.key(storagePrefix, path, file.sha256);
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const { storage, release } = this.pool.acquire(storagePrefix);
    let bytes: Uint8Array;
    try {
      bytes = await (await storage).read(path);
    } finally {
      release();
    }
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (body.length !== file.size || createHash("sha256").update(body).digest("hex") !== file.sha256) throw new ObjectChangedError(path, file.size, body.length);
    this.cache.set(key, body);
    return body;
  }

  /** What serving a file needs, by one prepared lookup (the hot path of many small files). */
  private fileTarget(by: Principal | null, slug: string) {
    const target = this.opts.datasets.hubFileTarget(by, slug);
    if (target !== undefined) return target;
    this.dataset(by, slug); // throws the answer for a dataset `by` may not read: 401 or 404
    throw new DroverError("NOT_FOUND", `dataset '${slug}' does not exist`, { details: { field: "dataset" } });
  }

  manifest(format: "hub" | "dsx", by: Principal | null, slug: string) {
    const { id, dataset } = this.dataset(by, slug);
    const version = `${dataset.manifestAt}:${dataset.files}:${dataset.bytes}`;
    return this.bodies.get(format, id, version, () => {
      const files = this.opts.datasets.manifestRows(id);
      if (format === "dsx") return JSON.stringify(files.map((f) => ({ path: f.path, size: f.size, hash: f.sha256 })));
      // Nothing time-dependent in the body: a refresh that changed nothing keeps the ETag.
      return JSON.stringify({ dataset: dataset.slug, files: dataset.files, bytes: dataset.bytes, entries: files });
    });
  }

  /** A manifest body with its ETag; 304 when the client's copy is current. */
  replyManifest(request: FastifyRequest, reply: FastifyReply, m: ManifestBody, cacheControl: string) {
    reply.header("etag", m.etag).header("cache-control", cacheControl);
    if (etagMatches(request.headers["if-none-match"], m.etag)) return reply.status(304).send();
    return reply.type("application/json; charset=utf-8").send(m.body);
  }

  /** Streams one manifest file; NOT_FOUND for a path the manifest does not list. */
  async sendFile(request: FastifyRequest, reply: FastifyReply, by: Principal | null, slug: string, rawPath: string, cacheControl: string): Promise<void> {
    const target = this.fileTarget(by, slug);
    const path = filePathOf(rawPath);
    const file = this.opts.datasets.manifestFile(target.id, path);
    if (file === undefined) throw new DroverError("NOT_FOUND", `dataset '${slug}' has no file '${path}' in its manifest`, { details: { field: "path" } });
    const options = { etag: `"${file.sha256}"`, size: file.size, cacheControl: target.visibility === "public" ? cacheControl : `private, ${cacheControl}` };
    try {
      // A client whose copy is current needs no bytes, whether or not storage still has them.
      if (etagMatches(request.headers["if-none-match"], options.etag)) {
        reply.header("etag", options.etag).header("cache-control", options.cacheControl);
        return void reply.status(304).send();
      }
      if (this.cache.enabled && file.size <= CACHEABLE_BYTES) {
        await sendObject(request, reply, await this.smallFile(target.storagePrefix, path, file), path, options);
        return;
      }
      const { storage, release } = this.pool.acquire(target.storagePrefix);
      releaseOnClose(reply, release);
      await sendObject(request, reply, await storage, path, options);
    } catch (error) {
      clearObjectHeaders(reply);
      if (error instanceof ObjectChangedError) throw new DroverError("INVALID_STATE", `'${path}' differs in storage from its manifest entry (size or sha256): refresh the manifest`, { details: { field: "path" } });
      if (!isStorageError(error)) throw error;
      request.log.warn({ err: error, dataset: slug }, "hub read failed");
      if (error.kind === "NotFound") throw new DroverError("NOT_FOUND", `'${path}' is in the manifest but not in storage: refresh the manifest`, { details: { field: "path" } });
      throw new DroverError("UNAVAILABLE", `the dataset's storage could not be read (${error.kind})`);
    }
  }
}

/** Without a token, where a dataset is stored (bucket names, server paths) is not said. */
function forCaller<D extends { storagePrefix: string }>(by: Principal | null, dataset: D): D {
  return by === null ? { ...dataset, storagePrefix: "" } : dataset;
}

function errorParts(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof DroverError) return { status: statusOf(error.code), code: error.code, message: error.message };
  const e = error as { statusCode?: number; code?: string; message?: string };
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, code: "INVALID_INPUT", message: e.message ?? "bad request" };
  return { status: 500, code: "INTERNAL", message: "internal error" };
}

/** The error answer of a hub face, in its own shape. */
export function hubErrorHandler(shape: (parts: { code: string; message: string }) => unknown) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const parts = errorParts(error);
    if (parts.status === 500) request.log.error({ err: error }, "hub request failed");
    if (parts.status === 401) reply.header("www-authenticate", "Bearer");
    clearObjectHeaders(reply);
    return reply.status(parts.status).type("application/json; charset=utf-8").send(shape(parts));
  };
}

/** GET /hub/datasets, /hub/datasets/:dataset, /hub/datasets/:dataset/manifest, /hub/datasets/:dataset/files/*. */
export function hubRoutes(hub: HubData): FastifyPluginAsync {
  return async (app) => {
    app.setErrorHandler(hubErrorHandler(({ code, message }) => ({ error: { code, message } })));
    app.addHook("onClose", async () => hub.pool.close());

    app.get("/hub/datasets", async (request, reply) => {
      const by = hub.principal(request);
      const list = hub.opts.datasets.hubDatasets(by).map((d) => forCaller(by, d));
      return reply.header("cache-control", "no-cache").send(list);
    });

    app.get<{ Params: { dataset: string } }>("/hub/datasets/:dataset", async (request, reply) => {
      const by = hub.principal(request);
      return reply.header("cache-control", "no-cache").send(forCaller(by, hub.dataset(by, request.params.dataset).dataset));
    });

    app.get<{ Params: { dataset: string } }>("/hub/datasets/:dataset/manifest", async (request, reply) => {
      const by = hub.principal(request);
      return hub.replyManifest(request, reply, hub.manifest("hub", by, request.params.dataset), by === null ? "no-cache" : "private, no-cache");
    });

    app.get<{ Params: { dataset: string; "*": string } }>("/hub/datasets/:dataset/files/*", async (request, reply) => {
      await hub.sendFile(request, reply, hub.principal(request), request.params.dataset, request.params["*"], "no-cache");
      // The reply is being streamed: tell Fastify so rather than resolving with nothing.
      return reply;
    });
  };
}
