// The download.url runner: one http(s) URL streamed into one storage object.
//
// Rules that must hold:
// - The body goes from the socket straight into storage.write (never whole in memory), and
//   storage.write commits atomically: a failed, aborted or mismatched download leaves
//   nothing at the destination, not even a temp file.
// - Every retry, resume and restart draws on one RetryBudget; a 4xx, a bad redirect, a size
//   or checksum mismatch fails for good at once (NonRetryableError).
// - @drover/storage (through ./destination.ts) is imported inside run(): the coordinator
//   loads this module for its spec only.
import { defineJobType, type JobContext } from "../define.ts";
import type { Destination } from "./destination.ts";
import { DEFAULT_DOWNLOAD_USER_AGENT, downloadUrlSpec, type DownloadUrlPayload, type DownloadUrlResult } from "./download.spec.ts";
import { DownloadError, describeUrl, permanent, toDownloadFailure } from "./errors.ts";
import { fileNameFor } from "./file-name.ts";
import { openUrl, type HttpResponse } from "./http-get.ts";
import { ResumableBody, RestartDownload } from "./resumable-body.ts";
import { RetryBudget } from "./retry.ts";

const PROGRESS_EVERY_MS = 500;

let destinationModule: Promise<typeof import("./destination.ts")> | undefined;

export const downloadUrlJob = defineJobType({
  ...downloadUrlSpec,
  async run(ctx) {
    const { payload: p } = ctx;
    const deadline = new Deadline(ctx.signal, p.totalTimeoutMs);
    const { signal } = deadline;
    let dest: Destination | undefined;
    /** The last final (non-redirect) status seen: counted once, success or not. */
    let status: number | undefined;
    try {
      // Imported once: every dynamic import() goes through the module loader's hooks again.
      const { Destination } = await (destinationModule ??= import("./destination.ts"));
      dest = await Destination.open(p.dest);
      const result = await new Download(ctx, dest, signal, (s) => (status = s)).run();
      status = result.status;
      return result;
    } catch (error) {
      if (signal.aborted) throw deadline.error();
      throw toDownloadFailure(error, new URL(p.url));
    } finally {
      if (status !== undefined) ctx.count(`http.${status}`);
      deadline.dispose();
      await dest?.close();
    }
  },
});

/** One attempt's state: the budget, the resumes so far, and how to open the URL. */
class Download {
  private readonly p: DownloadUrlPayload;
  private readonly budget: RetryBudget;
  private readonly started = performance.now();
  private readonly headers: Record<string, string>;
  private resumed = 0;
  private lastProgress = 0;

  constructor(
    private readonly ctx: JobContext<DownloadUrlPayload>,
    private readonly dest: Destination,
    private readonly signal: AbortSignal,
    private readonly onStatus: (status: number) => void,
  ) {
    this.p = ctx.payload;
    this.budget = new RetryBudget({ retries: this.p.retries, signal, log: (line) => ctx.log(line) });
    this.headers = requestHeaders(this.p.headers);
  }

  /** Requests until one response's body is written whole, or the budget is spent. */
  async run(): Promise<DownloadUrlResult> {
    const start = new URL(this.p.url);
    // A full response a failed resume already received: start over with it.
    let pending: HttpResponse | undefined;
    for (;;) {
      const response = pending;
      pending = undefined;
      try {
        // Only the first request may ride a pooled connection (see HttpGetOptions.reuse).
        return await this.save(response ?? (await this.open(start, this.headers, this.budget.used === 0)));
      } catch (error) {
        if (this.signal.aborted) throw error;
        if (error instanceof RestartDownload) {
          this.ctx.log(`download.url: ${error.message}`);
          pending = error.response;
          continue;
        }
        const failure = toDownloadFailure(error, response?.url ?? start);
        if (!(failure instanceof DownloadError)) throw failure;
        await this.budget.next(failure);
      }
    }
  }

  private open = (url: URL, headers: Record<string, string>, reuse = false): Promise<HttpResponse> =>
    openUrl(url, {
      headers,
      reuse,
      maxRedirects: this.p.maxRedirects,
      connectTimeoutMs: this.p.connectTimeoutMs,
      idleTimeoutMs: this.p.idleTimeoutMs,
      signal: this.signal,
      onStatus: this.onStatus,
    });

  /** Streams one full response into the destination; throws (the body's own failure first) without committing anything. */
  private async save(response: HttpResponse): Promise<DownloadUrlResult> {
    const { p, signal } = this;
    const body = new ResumableBody({
      first: response,
      open: this.open,
      budget: this.budget,
      idleTimeoutMs: p.idleTimeoutMs,
      maxBytes: p.maxBytes,
      size: p.size,
      sha256: p.sha256?.toLowerCase(),
      signal,
      log: (line) => this.ctx.log(line),
      onBytes: (bytes) => this.progress(bytes, body.total),
    });
    let key: string;
    try {
      if (response.status === 206) throw permanent("HTTP_206", `GET ${describeUrl(response.url)}: HTTP 206 to a request without Range`);
      checkDeclaredLength(body.total, p);
      key = await this.dest.chooseKey(this.dest.key ?? fileNameFor(response.headers["content-disposition"], response.url), p.uniqueName === true, signal);
      await this.dest.storage.write(key, body.stream, { signal, size: p.size, sha256: p.sha256, contentType: response.headers["content-type"] });
    } catch (error) {
      body.destroy();
      throw body.failure ?? error;
    } finally {
      this.resumed += body.resumed;
    }
    if (body.sha256 === undefined) throw new Error(`download.url: the write of '${key}' finished before the body was checked`);
    this.ctx.count("bytes", body.bytes);
    this.ctx.progress(1);
    const durationMs = Math.round(performance.now() - this.started);
    this.ctx.log(`download.url: ${body.bytes} bytes from ${describeUrl(response.url)} to '${key}' in ${durationMs} ms`);
    const contentType = response.headers["content-type"];
    return {
      url: response.url.href,
      key,
      dest: this.dest.urlOf(key),
      bytes: body.bytes,
      sha256: body.sha256,
      status: response.status,
      ...(contentType === undefined ? {} : { contentType }),
      durationMs,
      retries: this.budget.used,
      resumed: this.resumed,
    };
  }

  private progress(bytes: number, total: number | undefined): void {
    const now = performance.now();
    if (total === undefined || total === 0 || now - this.lastProgress < PROGRESS_EVERY_MS) return;
    this.lastProgress = now;
    this.ctx.progress(bytes / total, `${bytes} of ${total} bytes`);
  }
}

/** A declared Content-Length already too large or not the expected size: refuse before writing a byte. */
function checkDeclaredLength(total: number | undefined, p: DownloadUrlPayload): void {
  if (total === undefined) return;
  if (p.maxBytes !== undefined && total > p.maxBytes) throw permanent("TOO_LARGE", `the server declares ${total} bytes, more than maxBytes (${p.maxBytes})`);
  if (p.size !== undefined && total !== p.size) throw permanent("SIZE_MISMATCH", `the server declares ${total} bytes, expected size ${p.size}`);
}

/**
 * The payload's headers over the defaults, names in lower case. `accept-encoding: identity`
 * by default: the bytes stored are the bytes sent (no compression to undo) and ranges count
 * the same bytes.
 */
function requestHeaders(extra: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = { "user-agent": DEFAULT_DOWNLOAD_USER_AGENT, accept: "*/*", "accept-encoding": "identity" };
  for (const [name, value] of Object.entries(extra ?? {})) headers[name.toLowerCase()] = value;
  return headers;
}

/**
 * The job's signal and the totalTimeoutMs deadline as one signal. (Not AbortSignal.any: its
 * listeners on the long-lived job signal pile up on Node 20.)
 */
class Deadline {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = (): void => this.controller.abort(this.job.reason);

  constructor(
    private readonly job: AbortSignal,
    ms: number,
  ) {
    if (job.aborted) this.onAbort();
    else job.addEventListener("abort", this.onAbort, { once: true });
    this.timer = setTimeout(() => {
      this.controller.abort(new DownloadError("TOTAL_TIMEOUT", `download.url: not finished within totalTimeoutMs (${ms} ms)`, { final: true }));
    }, ms);
  }

  /** What to throw once the signal fired: the job's own reason, or the deadline's error. */
  error(): unknown {
    return this.job.aborted ? this.job.reason : this.signal.reason;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.job.removeEventListener("abort", this.onAbort);
  }
}
