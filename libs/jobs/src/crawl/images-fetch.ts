// One image download: http(s) only, a total deadline, a size cap, the caller's AbortSignal.
// Every way a download can go wrong maps to one outcome; only the job's own abort throws.

export interface FetchImageOptions {
  /** Deadline for the whole request: connect, headers and body. */
  timeoutMs: number;
  userAgent: string;
  /** Reading stops past this many bytes (outcome `tooBig`). */
  maxBytes: number;
  /** The job's signal: when it fires, fetchImage throws its reason instead of returning. */
  signal: AbortSignal;
}

export type FetchImageResult =
  | { outcome: "ok"; bytes: Buffer; contentType: string | null }
  | { outcome: "timeout" | "httpError" | "tooBig"; reason: string };

const ACCEPT = "image/jpeg,image/png,image/webp;q=0.9,image/*;q=0.5,*/*;q=0.1";

/** Parses a URL and keeps it only when it is http or https: nothing else is ever fetched. */
export function httpUrl(raw: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
}

/**
 * Downloads one image. The deadline covers connecting, the headers and the body (a server
 * that trickles bytes forever is cut off too). Redirects are followed by fetch, which
 * only follows http(s) redirects.
 */
export async function fetchImage(rawUrl: string, options: FetchImageOptions): Promise<FetchImageResult> {
  const { signal } = options;
  signal.throwIfAborted();
  const url = httpUrl(rawUrl);
  if (url === undefined) return { outcome: "httpError", reason: "not an http(s) URL" };

  // One controller per request, fired by the deadline or by the job's signal. (Not
  // AbortSignal.any: its listeners on the long-lived job signal pile up on Node 20.)
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`timed out after ${options.timeoutMs} ms`, "TimeoutError"));
  }, options.timeoutMs);
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const response = await fetch(url, {
      headers: { "user-agent": options.userAgent, accept: ACCEPT },
      redirect: "follow",
      signal: controller.signal,
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return { outcome: "httpError", reason: `HTTP ${response.status}` };
    }
    const declared = Number(response.headers.get("content-length") ?? NaN);
    if (declared > options.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      return { outcome: "tooBig", reason: `content-length ${declared} > ${options.maxBytes}` };
    }
    const bytes = await readCapped(response, options.maxBytes);
    if (bytes === undefined) return { outcome: "tooBig", reason: `more than ${options.maxBytes} bytes` };
    return { outcome: "ok", bytes, contentType: response.headers.get("content-type") };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (timedOut) return { outcome: "timeout", reason: `no complete response within ${options.timeoutMs} ms` };
    return { outcome: "httpError", reason: describeNetworkError(error) };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/** The body, or undefined as soon as it passes `limit` bytes (the rest is never read). */
async function readCapped(response: Response, limit: number): Promise<Buffer | undefined> {
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/** fetch's errors are a bare "fetch failed" with the socket error as the cause. */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}
