// A loopback HTTP server (127.0.0.1, port 0) that misbehaves on purpose, for download.url's
// tests: it cuts connections mid-body, lies about lengths, drips, ignores Range, redirects in
// circles. Every request is recorded, so a test can check what the client asked for.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface SeenRequest {
  path: string;
  headers: IncomingHttpHeaders;
}

/** Answers a request; `n` counts the requests to this path, from 1. */
export type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

export class MisbehavingServer {
  readonly requests: SeenRequest[] = [];
  private readonly routes = new Map<string, Handler>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly base: string,
  ) {}

  static async start(): Promise<MisbehavingServer> {
    const server = createServer();
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const { port } = server.address() as AddressInfo;
    const self = new MisbehavingServer(server, `http://127.0.0.1:${port}`);
    server.on("connection", (socket) => {
      self.sockets.add(socket);
      socket.on("close", () => self.sockets.delete(socket));
    });
    server.on("request", (req, res) => self.handle(req, res));
    return self;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  route(path: string, handler: Handler): this {
    this.routes.set(path, handler);
    return this;
  }

  /** The requests made to `path` (query included), in order. */
  seen(path: string): SeenRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? "/";
    this.requests.push({ path, headers: req.headers });
    const handler = this.routes.get(path);
    if (handler === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("no such route");
      return;
    }
    handler(req, res, this.seen(path).length);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}

export interface ServeOptions {
  etag?: string;
  lastModified?: string;
  /** Send `Accept-Ranges: bytes`. Default true when etag or lastModified is set. */
  acceptRanges?: boolean;
  /** Answer a Range request whose If-Range matches with a 206. Default: acceptRanges. */
  honourRange?: boolean;
  /** Send Content-Length (else the body is chunked). Default true. */
  contentLength?: boolean;
  contentType?: string;
  contentDisposition?: string;
  /**
   * For the n-th request: stop after this many bytes of the body, either with a TCP reset
   * or by closing the connection cleanly (a Content-Length that lies). Default: never.
   */
  cut?: (n: number) => { after: number; how: "reset" | "close" } | undefined;
}

/** Serves `data`, with ranges and cuts as asked. */
export function serveBytes(data: Buffer, options: ServeOptions = {}): Handler {
  const acceptRanges = options.acceptRanges ?? (options.etag !== undefined || options.lastModified !== undefined);
  const honourRange = options.honourRange ?? acceptRanges;
  return (req, res, n) => {
    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const ifRange = req.headers["if-range"];
    if (honourRange && range !== null && (ifRange === undefined || ifRange === options.etag || ifRange === options.lastModified)) {
      start = Number(range[1]);
      status = 206;
    }
    const body = data.subarray(start);
    const headers: Record<string, string> = { "content-type": options.contentType ?? "application/octet-stream" };
    if (options.contentLength !== false) headers["content-length"] = String(body.length);
    if (status === 206) headers["content-range"] = `bytes ${start}-${data.length - 1}/${data.length}`;
    if (acceptRanges) headers["accept-ranges"] = "bytes";
    if (options.etag !== undefined) headers.etag = options.etag;
    if (options.lastModified !== undefined) headers["last-modified"] = options.lastModified;
    if (options.contentDisposition !== undefined) headers["content-disposition"] = options.contentDisposition;
    res.writeHead(status, headers);
    const cut = options.cut?.(n);
    if (cut === undefined) {
      res.end(body);
      return;
    }
    res.write(body.subarray(0, cut.after), () => {
      if (cut.how === "reset") res.socket?.resetAndDestroy();
      else res.socket?.end();
    });
  };
}

/** Answers `status` the first `times` requests, then hands over to `then`. */
export function failFirst(times: number, status: number, then: Handler, headers: Record<string, string> = {}): Handler {
  return (req, res, n) => {
    if (n > times) return then(req, res, n);
    res.writeHead(status, { "content-type": "text/plain", ...headers }).end(`failing with ${status}`);
  };
}

export function redirect(status: number, location: string): Handler {
  return (_req, res) => res.writeHead(status, { location }).end();
}

/** Headers at once, then one byte every `everyMs`: slower than any idle timeout the tests use. */
export function drip(length: number, everyMs: number): Handler {
  return (_req, res) => {
    res.writeHead(200, { "content-length": String(length) });
    const timer = setInterval(() => res.write("x"), everyMs);
    res.on("close", () => clearInterval(timer));
  };
}

/** Accepts the request and never answers. */
export function silent(): Handler {
  return () => {};
}
