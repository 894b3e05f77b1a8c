// The pickup floor's stand-in for a coordinator: bare node:http, no framework, no database.
// POST /submit hands a job to a parked long-poll POST /acquire at once (or queues it);
// this is the least any coordinator can do between "a job arrives" and "a worker hears
// of it". Prints its URL, then serves until killed.
import { createServer, type ServerResponse } from "node:http";

const queued: string[] = [];
let parked: ServerResponse | undefined;

const server = createServer((req, res) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk: string) => (body += chunk));
  req.on("end", () => {
    res.setHeader("content-type", "application/json");
    if (req.url === "/submit") {
      if (parked) {
        const waiting = parked;
        parked = undefined;
        waiting.end(body);
      } else queued.push(body);
      res.end('{"ok":true}');
    } else if (req.url === "/acquire") {
      const next = queued.shift();
      if (next !== undefined) res.end(next);
      else parked = res;
    } else {
      res.statusCode = 404;
      res.end("{}");
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object") console.log(`floor server listening on http://127.0.0.1:${address.port}`);
});
