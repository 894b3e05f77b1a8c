// The body of one download as a single web stream that survives breaks. When the transfer
// fails mid-way and the first response offered byte ranges with a validator, the stream asks
// for the rest (Range: bytes=N-, If-Range: <validator>) and carries on, so storage.write sees
// one body and commits the object once. When the rest cannot be had as an exact continuation,
// the stream errors with RestartDownload instead: the write is abandoned (nothing committed)
// and the runner starts again from byte 0.
//
// Rules that must hold: a byte is passed on only once and in order; the stream never ends
// unless the body is complete and passed the size/sha256/maxBytes checks - any failure
// errors it, so the storage never commits a partial or wrong object.
import { createHash } from "node:crypto";
import { NonRetryableError } from "../errors.ts";
import { DownloadError, describeUrl, permanent, toDownloadFailure } from "./errors.ts";
import type { HttpResponse } from "./http-get.ts";
import type { RetryBudget } from "./retry.ts";

/** The stream could not continue where it broke: abandon the write and start from byte 0. */
export class RestartDownload extends Error {
  override readonly name = "RestartDownload";
  /** A full (200) response already received, to start over with instead of asking again. */
  readonly response: HttpResponse | undefined;
  constructor(why: string, response?: HttpResponse) {
    super(`starting over: ${why}`);
    this.response = response;
  }
}

export interface ResumableBodyOptions {
  /** The full (2xx) response whose body this is. */
  first: HttpResponse;
  /** GETs `url` with these headers (following redirects), resolving with a 2xx response only. */
  open(url: URL, headers: Record<string, string>): Promise<HttpResponse>;
  budget: RetryBudget;
  idleTimeoutMs: number;
  maxBytes: number | undefined;
  /** Expected size, checked as bytes arrive and at the end. */
  size: number | undefined;
  /** Expected hex sha256 (lower case), checked at the end. */
  sha256: string | undefined;
  signal: AbortSignal;
  log(line: string): void;
  /** Hears the byte count after each chunk. */
  onBytes(bytes: number): void;
}

export class ResumableBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** The length the first response declared (Content-Length), if any. */
  readonly total: number | undefined;
  /** Bytes passed on so far. */
  bytes = 0;
  /** Breaks continued with a 206. */
  resumed = 0;
  /** Hex sha256 of the whole body, set once it ended and passed its checks. */
  sha256: string | undefined;
  /** Why the stream errored. The storage wraps it in its own error; the runner wants it back. */
  failure: unknown;

  private readonly validator: string | undefined;
  private readonly hash = createHash("sha256");
  private current: HttpResponse;
  private chunks: AsyncIterator<Buffer>;
  private closed = false;

  constructor(private readonly o: ResumableBodyOptions) {
    this.current = o.first;
    this.chunks = o.first.body[Symbol.asyncIterator]();
    this.total = declaredLength(o.first.headers["content-length"]);
    this.validator = resumeValidator(o.first);
    // highWaterMark 0: nothing is read before the storage asks, so no bytes leave the socket
    // while the destination is still being chosen.
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          try {
            const chunk = await this.nextChunk();
            if (chunk === undefined) controller.close();
            else controller.enqueue(chunk);
          } catch (error) {
            this.failure = error;
            this.destroy();
            throw error;
          }
        },
        cancel: () => this.destroy(),
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * Closes the connection in use for good (on failure, cancel, or when the body is not
   * wanted). A pull still waiting to resume sees `closed` and opens nothing more.
   */
  destroy(): void {
    this.closed = true;
    this.current.body.destroy();
  }

  /**
   * The next non-empty chunk (a pull that enqueues nothing would stall the reader), after
   * resuming as often as the budget allows; undefined at the end, once the final checks passed.
   */
  private async nextChunk(): Promise<Uint8Array | undefined> {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await this.read();
      } catch (error) {
        await this.recover(error);
        continue;
      }
      if (next.done === true) {
        if (this.total !== undefined && this.bytes < this.total) {
          // A Content-Length that lies, or a connection closed early: a broken transfer.
          await this.recover(new DownloadError("TRUNCATED", `GET ${describeUrl(this.current.url)}: the body ended after ${this.bytes} of ${this.total} bytes`));
          continue;
        }
        this.finish();
        return undefined;
      }
      if (next.value.byteLength === 0) continue;
      this.accept(next.value);
      return next.value;
    }
  }

  /** Reads from the current response; no bytes for idleTimeoutMs destroys it (a retryable failure). */
  private async read(): Promise<IteratorResult<Buffer>> {
    const { body, url } = this.current;
    const timer = setTimeout(() => {
      body.destroy(new DownloadError("IDLE_TIMEOUT", `GET ${describeUrl(url)}: no body bytes for ${this.o.idleTimeoutMs} ms after byte ${this.bytes}`));
    }, this.o.idleTimeoutMs);
    try {
      return await this.chunks.next();
    } finally {
      clearTimeout(timer);
    }
  }

  private accept(chunk: Buffer): void {
    const after = this.bytes + chunk.byteLength;
    const { maxBytes, size } = this.o;
    const where = `GET ${describeUrl(this.current.url)}`;
    if (maxBytes !== undefined && after > maxBytes) throw permanent("TOO_LARGE", `${where}: the body is larger than maxBytes (${maxBytes} bytes)`);
    if (size !== undefined && after > size) throw permanent("SIZE_MISMATCH", `${where}: the body is larger than the expected size (${size} bytes)`);
    if (this.total !== undefined && after > this.total) throw permanent("BODY_OVERRUN", `${where}: more bytes than the declared ${this.total}`);
    this.hash.update(chunk);
    this.bytes = after;
    this.o.budget.reached(after);
    this.o.onBytes(after);
  }

  private finish(): void {
    const sha256 = this.hash.digest("hex");
    const where = `GET ${describeUrl(this.current.url)}`;
    if (this.o.size !== undefined && this.bytes !== this.o.size) {
      throw permanent("SIZE_MISMATCH", `${where}: ${this.bytes} bytes, expected ${this.o.size}`);
    }
    if (this.o.sha256 !== undefined && sha256 !== this.o.sha256) {
      throw permanent("SHA256_MISMATCH", `${where}: sha256 ${sha256}, expected ${this.o.sha256}`);
    }
    this.sha256 = sha256;
  }

  /**
   * After a failure: waits its turn from the budget, then continues with a 206 from the
   * byte reached, or throws RestartDownload, or (not retryable, budget spent) the failure.
   */
  private async recover(error: unknown): Promise<void> {
    let cause = error;
    for (;;) {
      this.o.signal.throwIfAborted();
      // Cancelled by the storage (its own failure): nothing is reading any more.
      if (this.closed) throw cause;
      const failure = toDownloadFailure(cause, this.current.url);
      if (!(failure instanceof DownloadError)) throw failure;
      this.current.body.destroy();
      await this.o.budget.next(failure);
      if (this.closed) throw failure;
      if (this.validator === undefined) throw new RestartDownload(`${failure.message}; the server offered no ranges to resume with`);
      const { first } = this.o;
      let response: HttpResponse;
      try {
        response = await this.o.open(first.url, { ...first.requestHeaders, range: `bytes=${this.bytes}-`, "if-range": this.validator });
      } catch (reopenError) {
        // E.g. a signed URL that expired: the original URL may hand out a fresh one.
        if (reopenError instanceof NonRetryableError) throw new RestartDownload(`resuming failed: ${reopenError.message}`);
        cause = reopenError;
        continue;
      }
      if (this.closed) {
        response.body.destroy();
        throw failure;
      }
      this.continueWith(response);
      return;
    }
  }

  /** Takes a response to a Range request if it continues exactly at the byte reached. */
  private continueWith(response: HttpResponse): void {
    const range = parseContentRange(response.headers["content-range"]);
    const continues =
      response.status === 206 &&
      range?.start === this.bytes &&
      (range.total === undefined || this.total === undefined || range.total === this.total) &&
      sameValidator(this.o.first, response);
    if (continues) {
      this.current = response;
      this.chunks = response.body[Symbol.asyncIterator]();
      this.resumed++;
      this.o.log(`download.url: resumed ${describeUrl(response.url)} at byte ${this.bytes}`);
      return;
    }
    if (response.status === 200) throw new RestartDownload("the server sent the whole body again (it changed, or it ignores Range)", response);
    response.body.destroy();
    throw new RestartDownload(`HTTP ${response.status} (Content-Range ${response.headers["content-range"] ?? "none"}) does not continue at byte ${this.bytes}`);
  }
}

function declaredLength(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * What If-Range can carry: a strong ETag, else Last-Modified; and only when the server said
 * it serves byte ranges. RFC 9110 forbids a weak ETag in If-Range.
 */
function resumeValidator(first: HttpResponse): string | undefined {
  if (first.status !== 200 || !/(^|[\s,])bytes($|[\s,])/i.test(first.headers["accept-ranges"] ?? "")) return undefined;
  const etag = first.headers.etag;
  if (etag !== undefined && !etag.startsWith("W/")) return etag;
  return first.headers["last-modified"];
}

/** A validator the 206 sends must be the one the first response had. */
function sameValidator(first: HttpResponse, next: HttpResponse): boolean {
  const { etag, "last-modified": modified } = next.headers;
  if (etag !== undefined && etag !== first.headers.etag) return false;
  if (modified !== undefined && first.headers.etag === undefined && modified !== first.headers["last-modified"]) return false;
  return true;
}

function parseContentRange(value: string | undefined): { start: number; end: number; total: number | undefined } | undefined {
  const match = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value?.trim() ?? "");
  if (match === null) return undefined;
  return { start: Number(match[1]), end: Number(match[2]), total: match[3] === "*" ? undefined : Number(match[3]) };
}
