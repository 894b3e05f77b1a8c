// The pickup floor's stand-in for a worker: one keep-alive connection long-polling the
// floor server, reporting over IPC, on the same clock as the stamp plugin, when each job
// "starts" (the moment its answer is parsed). Usage: worker.ts URL
import { Agent, request } from "node:http";
import { preciseNow, type StampMessage } from "../clock.ts";

const url = new URL(process.argv[2]!);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function acquire(): Promise<{ jobId: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: "/acquire", method: "POST", agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(JSON.parse(body) as { jobId: number }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end("{}");
  });
}

process.on("message", (msg: { kind?: string; id?: number }) => {
  if (msg?.kind === "bench.ping" && typeof msg.id === "number") process.send!({ kind: "bench.pong", id: msg.id, at: preciseNow() } satisfies StampMessage);
});
process.send!({ kind: "bench.pong", id: 0, at: preciseNow() } satisfies StampMessage); // "ready"
for (;;) {
  const { jobId } = await acquire();
  process.send!({ kind: "bench.stamp", jobId, at: preciseNow() } satisfies StampMessage);
}
