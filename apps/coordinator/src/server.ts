import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyPluginAsync } from "fastify";
import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import type { DroverContext, DroverServices, Principal } from "@drover/protocol";
import { registerTrpcRoutes } from "./trpc-handler.ts";

export interface ServerOptions {
  services: DroverServices;
  authenticate: (token: string) => Principal | null;
  logLevel: string;
  bodyLimit: number;
  /** Extra routes, each an encapsulated plugin (e.g. the Crawling@Home API when enabled); default none. */
  plugins?: readonly FastifyPluginAsync[];
}

/** The transport only: Fastify + the tRPC router. All logic lives in the services. */
export function buildServer(opts: ServerOptions): FastifyInstance {
  const app = Fastify({
    logger: {
      level: opts.logLevel,
      // Tokens travel in this header; it must never reach a log line.
      redact: { paths: ["req.headers.authorization", "headers.authorization"], censor: "[redacted]" },
    },
    // One log line per request would be thousands a second under load.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
    // close() must not wait on a connection whose long-poll the client abandoned: long-polls
    // are ended before close, and every settle call is idempotent, so a cut request is safe.
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 5000 },
  });

  // Errors Fastify raises before tRPC sees the request (a body over bodyLimit, a content type
  // it has no parser for) get the tRPC error shape too: every refusal carries a droverCode.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, "request failed");
    const [code, droverCode, message] =
      status === 413
        ? (["PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE", `request body is over the ${opts.bodyLimit}-byte limit`] as const)
        : status === 500
          ? (["INTERNAL_SERVER_ERROR", "INTERNAL", "internal error"] as const)
          : (["BAD_REQUEST", "INVALID_INPUT", error.message] as const);
    return reply.status(status).send({ error: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus: status, droverCode } } });
  });

  app.get("/healthz", async () => ({ ok: true }));

  // JSON bodies; an empty one is "no input" (the typed client sends none for input-less calls).
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    if (body === "") return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(Object.assign(new Error("the request body is not valid JSON"), { statusCode: 400 }), undefined);
    }
  });

  registerTrpcRoutes(app, (req): DroverContext => {
    const header = req.headers.authorization;
    if (!header) return { services: opts.services, principal: null };
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const principal = match ? opts.authenticate(match[1]!) : null;
    return {
      services: opts.services,
      principal,
      authError: principal ? undefined : match ? "unknown or revoked token" : "authorization header must be 'Bearer <token>'",
    };
  });
  for (const plugin of opts.plugins ?? []) void app.register(plugin);
  return app;
}
