import Fastify, { LogController, type FastifyInstance } from "fastify";
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from "@trpc/server/adapters/fastify";
import { appRouter, type AppRouter, type DroverContext, type DroverServices, type Principal } from "@drover/protocol";

export interface ServerOptions {
  services: DroverServices;
  authenticate: (token: string) => Principal | null;
  logLevel: string;
  bodyLimit: number;
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
    routerOptions: { maxParamLength: 5000 },
  });

  app.get("/healthz", async () => ({ ok: true }));

  app.register(fastifyTRPCPlugin, {
    prefix: "/trpc",
    trpcOptions: {
      router: appRouter,
      allowMethodOverride: true,
      createContext({ req }): DroverContext {
        const header = req.headers.authorization;
        if (!header) return { services: opts.services, principal: null };
        const match = /^Bearer\s+(\S+)$/i.exec(header);
        const principal = match ? opts.authenticate(match[1]!) : null;
        return {
          services: opts.services,
          principal,
          authError: principal ? undefined : match ? "unknown or revoked token" : "authorization header must be 'Bearer <token>'",
        };
      },
      onError({ error, path }) {
        if (error.code === "INTERNAL_SERVER_ERROR") app.log.error({ err: error.cause ?? error, path }, "procedure failed");
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>["trpcOptions"],
  });
  return app;
}
