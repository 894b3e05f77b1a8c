import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { callProcedure, getErrorShape, getHTTPStatusCodeFromError, getTRPCErrorFromUnknown, TRPCError } from "@trpc/server/unstable-core-do-not-import";
import { appRouter, type DroverContext } from "@drover/protocol";

type ProcedureDef = { _def: { type: "query" | "mutation" | "subscription" } };
const procedures = appRouter._def.procedures as unknown as Record<string, ProcedureDef | undefined>;

/**
 * Serves the router over tRPC's HTTP protocol (the one `httpLink` and `httpBatchLink`
 * speak: single and batched calls, queries by GET or POST, mutations by POST, JSON
 * responses) straight from Fastify's parsed body.
 *
 * Why not @trpc/server's Fastify adapter: it turns every request into a web Request and
 * every answer into a web Response stream, which measured ~265 µs of CPU per call here —
 * more than the lease engine's own work (tools/bench, "request cost"). The procedures,
 * middlewares, input/output parsing and error shapes are tRPC's own (`callProcedure`,
 * `getErrorShape`); only the HTTP framing is done here. Subscriptions and streaming links
 * are not served.
 */
export function registerTrpcRoutes(app: FastifyInstance, createContext: (req: FastifyRequest) => DroverContext): void {
  const handler = async (req: FastifyRequest<{ Params: { path: string }; Querystring: { batch?: string; input?: string } }>, reply: FastifyReply) => {
    const isGet = req.method === "GET";
    const batch = req.query.batch === "1" || req.query.batch === "true";
    const paths = batch ? req.params.path.split(",") : [req.params.path];
    const ctx = createContext(req);
    // Aborted when the client goes away before the answer is written (ends long-polls).
    const abort = new AbortController();
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) abort.abort();
    });

    let raw: unknown;
    try {
      raw = isGet ? (req.query.input === undefined ? undefined : JSON.parse(req.query.input)) : req.body;
    } catch (cause) {
      raw = new TRPCError({ code: "PARSE_ERROR", message: "the input query parameter is not JSON", cause });
    }
    if (batch && raw !== undefined && !(raw instanceof TRPCError) && (typeof raw !== "object" || raw === null || Array.isArray(raw))) {
      raw = new TRPCError({ code: "BAD_REQUEST", message: "a batch input must be an object keyed by call index" });
    }

    const answers = await Promise.all(
      paths.map(async (path, index) => {
        const input = raw instanceof TRPCError ? undefined : batch ? (raw as Record<string, unknown> | undefined)?.[index] : raw;
        const type = procedures[path]?._def.type ?? "unknown";
        try {
          if (raw instanceof TRPCError) throw raw;
          if (type === "unknown") throw new TRPCError({ code: "NOT_FOUND", message: `no procedure '${path}'` });
          if (type === "subscription") throw new TRPCError({ code: "METHOD_NOT_SUPPORTED", message: "subscriptions are not served over HTTP" });
          if (isGet && type !== "query") throw new TRPCError({ code: "METHOD_NOT_SUPPORTED", message: `'${path}' is a mutation: use POST` });
          const data: unknown = await callProcedure({
            router: appRouter,
            path,
            type,
            ctx,
            getRawInput: async () => input,
            signal: abort.signal,
            batchIndex: index,
            allowMethodOverride: true,
          });
          return { status: 200, body: { result: { data } } };
        } catch (cause) {
          const error = getTRPCErrorFromUnknown(cause);
          if (error.code === "INTERNAL_SERVER_ERROR") req.log.error({ err: error.cause ?? error, path }, "procedure failed");
          const shape = getErrorShape({ config: appRouter._def._config, error, type, path, input, ctx });
          return { status: getHTTPStatusCodeFromError(error), body: { error: shape } };
        }
      }),
    );
    if (!batch) return reply.status(answers[0]!.status).send(answers[0]!.body);
    const statuses = new Set(answers.map((a) => a.status));
    return reply.status(statuses.size === 1 ? answers[0]!.status : 207).send(answers.map((a) => a.body));
  };
  app.get("/trpc/:path", handler);
  app.post("/trpc/:path", handler);
}
