import http from "node:http";
import https from "node:https";

// Keep-alive pools shared by every client in the process: a worker makes thousands of
// small calls a second, and a new connection per call would cost more than the call.
const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 256 }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

interface Init {
  method?: string;
  headers?: Record<string, string> | Headers | [string, string][];
  body?: string | null;
  signal?: AbortSignal | null;
}

/**
 * The subset of `fetch` the tRPC link uses (method, headers, a string body, a signal;
 * `ok` and `json()` on the answer), over node:http with keep-alive. Measured in
 * tools/bench: the global fetch (undici) cost ~650 µs of client CPU per call, which on a
 * shared machine comes straight out of the coordinator's share.
 */
export function nodeFetch(input: string | URL | { url: string }, init: Init = {}): Promise<{ ok: boolean; status: number; json(): Promise<unknown> }> {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  const agent = agents[url.protocol as keyof typeof agents];
  if (!agent) return Promise.reject(new TypeError(`unsupported protocol ${url.protocol}`));
  const headers = init.headers instanceof Headers ? Object.fromEntries(init.headers) : Array.isArray(init.headers) ? Object.fromEntries(init.headers) : { ...(init.headers ?? {}) };
  const body = init.body ?? undefined;
  if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return reject(signal.reason ?? abortError());
    const request = (url.protocol === "https:" ? https : http).request(url, { method: init.method ?? "GET", headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        signal?.removeEventListener("abort", onAbort);
        const text = Buffer.concat(chunks).toString("utf8");
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 300, status, json: async () => JSON.parse(text) as unknown });
      });
    });
    const onAbort = () => request.destroy(abortError());
    signal?.addEventListener("abort", onAbort, { once: true });
    request.on("error", (error) => {
      signal?.removeEventListener("abort", onAbort);
      reject(error);
    });
    request.end(body);
  });
}

function abortError(): Error {
  return Object.assign(new Error("This operation was aborted"), { name: "AbortError" });
}
