// One HTTP GET over node:http(s) with its deadlines, and a follower that takes redirects one
// hop at a time so that every hop is checked (http(s) only, no loops, at most maxRedirects).
//
// Node's own timeouts (socket.setTimeout) measure socket inactivity, which also fires while
// the consumer - a slow storage upload - simply is not reading. So the deadlines here are
// timers around the phases that wait on the server: connecting, then the headers. The body's
// idle deadline is kept by its reader (resumable-body.ts), which knows when it is waiting.
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import { DownloadError, describeUrl, permanent, statusError } from "./errors.ts";

export interface HttpGetOptions {
  /** Request headers, names in lower case. */
  headers: Record<string, string>;
  connectTimeoutMs: number;
  /** Longest wait for the response headers once connected. */
  idleTimeoutMs: number;
  /** Destroys the request and its response, with the signal's reason. */
  signal: AbortSignal;
  /**
   * Take a kept-alive connection to the same server when one is free (a first request).
   * Retries and resumes pass false: a fresh connection, so a socket the server half-closed
   * meanwhile is never what a retry lands on.
   */
  reuse?: boolean;
}

/**
 * Kept-alive connections, shared by every download in this process: a worker fetching many
 * small files from one host pays one TCP (and TLS) handshake per connection, not per file,
 * as aria2c and curl do. Free sockets do not keep the process alive.
 */
const POOLS = {
  http: new http.Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: "lifo" }),
  https: new https.Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: "lifo" }),
};

export interface HttpResponse {
  /** The URL this response came from (after redirects, for openUrl). */
  url: URL;
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  /** The headers sent for this URL (credentials may have been dropped on the way). */
  requestHeaders: Record<string, string>;
  /** The body, not yet read. Whoever receives a response must read it to the end or destroy it. */
  body: IncomingMessage;
}

/** One request, no redirects followed. Rejects with the raw Node error, a DownloadError (timeouts) or the signal's reason. */
export function httpGet(url: URL, options: HttpGetOptions): Promise<HttpResponse> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const tls = url.protocol === "https:";
    const agent = options.reuse === true ? (tls ? POOLS.https : POOLS.http) : false;
    const req = (tls ? https : http).request(url, { method: "GET", headers: options.headers, agent });
    let res: IncomingMessage | undefined;
    let timer = setTimeout(() => {
      req.destroy(new DownloadError("CONNECT_TIMEOUT", `GET ${describeUrl(url)}: no connection within ${options.connectTimeoutMs} ms`));
    }, options.connectTimeoutMs);
    const onAbort = (): void => {
      req.destroy(signal.reason);
      res?.destroy(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };

    const connected = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        req.destroy(new DownloadError("IDLE_TIMEOUT", `GET ${describeUrl(url)}: no response headers within ${options.idleTimeoutMs} ms`));
      }, options.idleTimeoutMs);
    };
    req.once("socket", (socket) => {
      // A pooled socket is connected already: only the wait for headers is left.
      if (!socket.connecting) connected();
      else socket.once(tls ? "secureConnect" : "connect", connected);
    });
    req.once("response", (response) => {
      clearTimeout(timer);
      res = response;
      // The body's errors reach whoever reads it (a stream iterator sees the stored error);
      // this listener only keeps an error before the first read from crashing the process.
      response.on("error", () => {});
      response.once("close", done);
      resolve({ url, status: response.statusCode ?? 0, statusText: response.statusMessage ?? "", headers: response.headers, requestHeaders: options.headers, body: response });
    });
    // Not once: a request can error again after its first error (e.g. an abort while closing).
    req.on("error", (error) => {
      if (res === undefined) done();
      reject(error);
    });
    req.end();
  });
}

export interface OpenUrlOptions extends HttpGetOptions {
  maxRedirects: number;
  /** Hears the status of every non-redirect response, success or not (for the http.<code> counts). */
  onStatus?: (status: number) => void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Headers that are the caller's credentials for the first origin. Sent on to another origin
 * they would hand a token to whoever the redirect names (the fetch standard and curl drop them too).
 */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/**
 * GETs `start`, following redirects by hand. Resolves with a 2xx response only; any other
 * final status is thrown as statusError's DownloadError (408, 429, 5xx) or NonRetryableError.
 */
export async function openUrl(start: URL, options: OpenUrlOptions): Promise<HttpResponse> {
  const chain = [start];
  let url = start;
  let headers = options.headers;
  for (;;) {
    const res = await httpGet(url, { ...options, headers });
    if (!REDIRECTS.has(res.status)) {
      options.onStatus?.(res.status);
      if (res.status >= 200 && res.status <= 299) return res;
      res.body.destroy();
      const retryAfter = res.headers["retry-after"];
      throw statusError(res.status, res.statusText, url, retryAfter);
    }
    res.body.destroy();
    const next = redirectTarget(res);
    if (chain.some((seen) => seen.href === next.href)) {
      throw permanent("REDIRECT_LOOP", `redirect loop: ${[...chain, next].map((u) => describeUrl(u)).join(" -> ")}`);
    }
    if (chain.length > options.maxRedirects) {
      throw permanent("TOO_MANY_REDIRECTS", `more than ${options.maxRedirects} redirects from ${describeUrl(start)} (the last to ${describeUrl(next)})`);
    }
    if (next.origin !== url.origin) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.includes(name)));
    chain.push(next);
    url = next;
  }
}

/** Where a 3xx points, refused unless it is an http(s) URL: no file://, ftp:// or data: hop. */
function redirectTarget(res: HttpResponse): URL {
  const location = res.headers.location;
  const where = `GET ${describeUrl(res.url)}: HTTP ${res.status}`;
  if (location === undefined || location === "") throw permanent("BAD_REDIRECT", `${where} redirect without a Location`);
  let next: URL;
  try {
    next = new URL(location, res.url);
  } catch {
    throw permanent("BAD_REDIRECT", `${where} redirects to an invalid URL`);
  }
  if (next.protocol !== "http:" && next.protocol !== "https:") {
    throw permanent("BAD_REDIRECT", `${where} redirects to a ${next.protocol} URL; only http: and https: redirects are followed`);
  }
  next.hash = "";
  return next;
}
