// The DSX Hub API (yaga-07/dsx-hub; /work/shared/COMPAT.md) over the dataset hub, so an
// unmodified `DatasetHubClient(base_url=".../dsx", api_key=TOKEN)` lists datasets, reads
// manifests and downloads files. A Drover token is the API key; errors are FastAPI's
// `{ "detail": "..." }`; `hash` is the file's full sha256 (the old server hashed the first
// 1024 bytes with MD5, so a changed file could keep its hash).
import { DroverError } from "@drover/protocol";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { hubErrorHandler, type HubData } from "./hub-routes.ts";

const DOCS = {
  title: "DSX Hub API (served by Drover)",
  auth: "Authorization: Bearer <Drover token>; /health and /docs need none",
  routes: {
    "GET /datasets": "JSON list of dataset names the token may read",
    "GET /manifest/{dataset}": "JSON list of { path, size, hash } (hash = sha256 of the whole file); 404 unknown dataset",
    "GET /file/{dataset}/{path}": "the file's bytes (Range, ETag); 400 for a path that leaves the dataset, 404 missing",
    "GET /health": "{ status: 'ok' }",
  },
};

export const DSX_PREFIX = "/dsx";

export function dsxRoutes(hub: HubData): FastifyPluginAsync {
  return async (app) => {
    app.setErrorHandler(hubErrorHandler(({ message }) => ({ detail: message })));

    // The old API needs a key on every data route.
    const caller = (request: FastifyRequest) => {
      const by = hub.principal(request);
      if (by === null) throw new DroverError("UNAUTHENTICATED", "Missing Authorization header");
      return by;
    };

    app.get(`${DSX_PREFIX}/health`, async () => ({ status: "ok" }));
    app.get(`${DSX_PREFIX}/docs`, async () => DOCS);

    app.get(`${DSX_PREFIX}/datasets`, async (request) => hub.opts.datasets.hubDatasets(caller(request)).map((d) => d.slug));

    app.get<{ Params: { dataset: string } }>(`${DSX_PREFIX}/manifest/:dataset`, async (request, reply) => {
      return hub.replyManifest(request, reply, hub.manifest("dsx", caller(request), request.params.dataset), "private, no-cache");
    });

    app.get<{ Params: { dataset: string; "*": string } }>(`${DSX_PREFIX}/file/:dataset/*`, async (request, reply) => {
      await hub.sendFile(request, reply, caller(request), request.params.dataset, request.params["*"], "no-cache");
      // The reply is being streamed: tell Fastify so rather than resolving with nothing.
      return reply;
    });
  };
}
