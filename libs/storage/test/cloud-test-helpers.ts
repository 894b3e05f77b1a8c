export { kindOf } from "./helpers.ts";
// Helpers for the S3 and GCS backend tests: sources that fail late, a request-logging proxy,
// and a guard that no connection leaves the loopback interface.
import { randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { StorageError, type StorageErrorKind } from "../src/index.ts";

const MIB = 1024 * 1024;

/**
 * `total` random bytes in 1 MiB chunks; after `failAfter` bytes the stream errors instead of
 * going on (or, given `abort`, fires that controller first and then errors, like a cut source).
 */
export function failingStream(total: number, failAfter: number, abort?: AbortController): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= failAfter) {
        if (abort !== undefined) {
          abort.abort(new Error("test abort"));
          await new Promise((r) => setTimeout(r, 50));
        }
        controller.error(new Error(`source failed after ${sent} bytes`));
        return;
      }
      if (sent >= total) return controller.close();
      const chunk = randomBytes(Math.min(MIB, total - sent));
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}

/**
 * Random bytes in 1 MiB chunks; after `abortAfter` bytes it fires `abort` and then never
 * sends another byte nor ends: only the signal can end a write reading it.
 */
export function stallingStream(abortAfter: number, abort: AbortController): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= abortAfter) {
        abort.abort(new Error("test abort"));
        await new Promise(() => undefined);
      }
      const chunk = randomBytes(MIB);
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}


export interface LoggingProxy {
  /** http://127.0.0.1:PORT, forwarding every request to the target. */
  endpoint: string;
  /** "METHOD /path?query" per request, in arrival order. */
  log: string[];
  close(): Promise<void>;
}

/**
 * A plain HTTP forwarder on loopback that records each request line, to see which calls an
 * SDK made (s3rver cannot list pending multipart uploads, so the log is how a test sees the
 * upload was aborted and never completed). A client that drops a request drops the upstream.
 */
export async function loggingProxy(target: string): Promise<LoggingProxy> {
  const upstreamUrl = new URL(target);
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    log.push(`${req.method} ${req.url}`);
    const upstream = http.request(
      { host: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Records every TCP connection this process opens to something other than the loopback
 * address (an SDK probing for credentials would show up here). Call the returned function
 * to stop recording and get the list.
 */
export function recordNonLoopbackConnections(): () => string[] {
  const seen: string[] = [];
  const original = net.Socket.prototype.connect;
  const patched = function (this: net.Socket, ...args: unknown[]): net.Socket {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    let host: string | undefined;
    if (typeof first === "object" && first !== null) {
      const options = first as { host?: string; path?: string };
      host = options.path !== undefined ? undefined : (options.host ?? "localhost");
    } else if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
      host = typeof args[1] === "string" ? args[1] : "localhost";
    }
    if (host !== undefined && !(host === "localhost" || host === "::1" || host.startsWith("127."))) seen.push(host);
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  };
  net.Socket.prototype.connect = patched as typeof original;
  return () => {
    net.Socket.prototype.connect = original;
    return seen;
  };
}

/** Active TCP handles of this process (to see that a failed upload left no request open). */
export function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
}
