// A stand-in server for the overhead scenario, run as its own process:
//   tsx tools/bench/src/overhead-server.ts <http|fastify|trpc-bare|trpc>
// Each layer answers POST /trpc/leases.acquire with the same canned one-lease body the
// coordinator would send, so the same typed client drives every layer and the difference
// between layers is the server-side cost of that layer alone:
//   http       node:http: read the body, JSON.parse it, JSON.stringify the answer;
//   fastify    a Fastify route, with the coordinator's Fastify options;
//   trpc-bare  Fastify + @trpc/server's Fastify adapter + a one-procedure router: no middleware, no zod;
//   trpc       the same adapter + Drover's real appRouter (role middleware, zod input
//              parsing, and output parsing where the router declares it) over a stub
//              lease service: no SQLite.
// It prints `listening on <url>` once ready.
import { initTRPC } from "@trpc/server";
import { fastifyTRPCPlugin } from "@trpc/server/adapters/fastify";
import { appRouter, type DroverServices, type LeaseRecord, type Principal } from "@drover/protocol";
import Fastify, { LogController } from "fastify";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const LAYERS = ["http", "fastify", "trpc-bare", "trpc"] as const;
type Layer = (typeof LAYERS)[number];

const lease = (): LeaseRecord => ({
  jobId: 1,
  leaseId: "3f2a9c01b7d41",
  attempt: 1,
  expiresAt: Date.now() + 60_000,
  leaseSeconds: 60,
  maxAttempts: 3,
  type: "noop",
  queue: "noop",
  payload: {},
});

function coordinatorLikeFastify() {
  // The options apps/coordinator/src/server.ts uses, so the layers differ only in what they add.
  return Fastify({ logger: { level: "warn" }, logController: new LogController({ disableRequestLogging: true }), routerOptions: { maxParamLength: 5000 } });
}

async function listen(layer: Layer): Promise<string> {
  if (layer === "http") {
    const server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => (body += c));
      req.on("end", () => {
        JSON.parse(body || "{}");
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ result: { data: [lease()] } }));
      });
    });
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const app = coordinatorLikeFastify();
  if (layer === "fastify") {
    app.post("/trpc/leases.acquire", async () => ({ result: { data: [lease()] } }));
  } else if (layer === "trpc-bare") {
    const t = initTRPC.create();
    const router = t.router({ leases: t.router({ acquire: t.procedure.mutation(() => [lease()]) }) });
    app.register(fastifyTRPCPlugin, { prefix: "/trpc", trpcOptions: { router, allowMethodOverride: true } });
  } else {
    const principal: Principal = { tokenId: "bench", role: "worker", user: "bench" };
    // Only leases.acquire is called; the rest of the services are never reached.
    const services = { leases: { acquire: async () => [lease()] } } as unknown as DroverServices;
    app.register(fastifyTRPCPlugin, {
      prefix: "/trpc",
      trpcOptions: { router: appRouter, allowMethodOverride: true, createContext: () => ({ services, principal }) },
    });
  }
  await app.listen({ host: "127.0.0.1", port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

const layer = process.argv[2] as Layer;
if (!LAYERS.includes(layer)) {
  console.error(`usage: overhead-server.ts <${LAYERS.join("|")}>`);
  process.exit(2);
}
console.log(`listening on ${await listen(layer)}`);
process.on("SIGTERM", () => process.exit(0));
