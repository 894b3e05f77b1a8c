// download.url's spec: name, schemas, defaults and concurrency group. No runtime
// dependencies: the coordinator and the CLI import this to check payloads at submit.
import { z } from "zod";
import type { JobTypeSpec } from "../define.ts";

/** Sent as the User-Agent unless `headers` names another. */
export const DEFAULT_DOWNLOAD_USER_AGENT = "Drover/0.1 (download.url)";

/** The payload's defaults, in one place; the schema applies them. */
export const DOWNLOAD_DEFAULTS = {
  maxRedirects: 5,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  totalTimeoutMs: 3_600_000,
  retries: 4,
} as const;

/** RFC 9110 token: what a header name may be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Headers the downloader sets or that frame the connection: letting a payload set them would
 * break resuming (Range, If-Range), the framing (Content-Length, Transfer-Encoding) or the
 * target (Host).
 */
const RESERVED_HEADERS = new Set([
  "host",
  "range",
  "if-range",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "te",
  "trailer",
  "expect",
]);

/** Only http(s), and no credentials in the URL: it is logged, returned and shown in lists. */
const downloadUrl = z
  .string()
  .max(8192)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an absolute http: or https: URL" });
      return;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      ctx.addIssue({ code: "custom", message: `must be an http: or https: URL, got '${url.protocol}'` });
    } else if (url.username !== "" || url.password !== "") {
      ctx.addIssue({ code: "custom", message: "must not carry credentials; send them in headers (e.g. authorization)" });
    }
  });

/** What Node sends as is: visible Latin-1, spaces and tabs; never CR, LF or NUL (header injection). */
const headerValue = z
  .string()
  .max(8192)
  .regex(/^[\t\x20-\x7e\x80-\xff]*$/, "header values may hold only visible Latin-1 characters, spaces and tabs (no CR, LF, NUL or other control characters)");

/** Names checked here rather than as the record's key schema: zod 4 reports a bad key only as "Invalid key in record". */
const requestHeaders = z.record(z.string(), headerValue).superRefine((headers, ctx) => {
  for (const name of Object.keys(headers)) {
    if (!TOKEN.test(name)) {
      ctx.addIssue({ code: "custom", path: [name], message: "header names must be HTTP tokens (letters, digits and !#$%&'*+.^_`|~-)" });
    } else if (RESERVED_HEADERS.has(name.toLowerCase())) {
      ctx.addIssue({ code: "custom", path: [name], message: `'${name}' is set by the downloader and cannot be overridden` });
    }
  }
});

const timeoutMs = (max: number, fallback: number) => z.number().int().min(1).max(max).default(fallback);

export const downloadUrlPayload = z.strictObject({
  /** What to download: an http: or https: URL. Every redirect hop must be http(s) too. */
  url: downloadUrl,
  /**
   * Where to put it: a storage URL (local path, file://, s3://, gs://, rsync…). Ending in "/"
   * it is a folder and the file name comes from Content-Disposition or the URL; otherwise it
   * names the object itself.
   */
  dest: z.string().min(1).max(4096),
  /** Expected hex sha256: a mismatch fails the job for good and leaves no object. */
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits")
    .optional(),
  /** Expected size in bytes, checked like sha256. */
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** Extra request headers (e.g. authorization, cookie, user-agent). */
  headers: requestHeaders.optional(),
  /** Fail for good, writing nothing, once the body (or its declared length) passes this many bytes. Default: no limit. */
  maxBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** When the destination exists, write `name (1).ext`, `name (2).ext`, … instead of overwriting. Default false. */
  uniqueName: z.boolean().optional(),
  /** Redirects followed before giving up. Default 5. */
  maxRedirects: z.number().int().min(0).max(50).default(DOWNLOAD_DEFAULTS.maxRedirects),
  /** TCP (and TLS) connect deadline per request, in ms. Default 10,000. */
  connectTimeoutMs: timeoutMs(600_000, DOWNLOAD_DEFAULTS.connectTimeoutMs),
  /** Longest wait for the headers or for the next body bytes, in ms. Default 30,000. */
  idleTimeoutMs: timeoutMs(3_600_000, DOWNLOAD_DEFAULTS.idleTimeoutMs),
  /** Deadline for the whole download, retries included, in ms. Default 3,600,000 (1 h). */
  totalTimeoutMs: timeoutMs(7 * 86_400_000, DOWNLOAD_DEFAULTS.totalTimeoutMs),
  /**
   * Re-requests after retryable failures (5xx, 429, resets, timeouts) in a row within one
   * attempt; bytes past the furthest point reached so far start the count again. Default 4.
   * The coordinator retries the job on top of this.
   */
  retries: z.number().int().min(0).max(100).default(DOWNLOAD_DEFAULTS.retries),
});

export const downloadUrlResult = z.object({
  /** The URL finally downloaded, after redirects. */
  url: z.string(),
  /** The object's key in the destination storage. */
  key: z.string(),
  /** Storage URL of the written object. */
  dest: z.string(),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** HTTP status of the final response (after redirects) that started the object: 200 even when a tail was resumed with a 206. */
  status: z.number().int(),
  contentType: z.string().optional(),
  durationMs: z.number().min(0),
  /** Re-requests made after failures (resumes and restarts included). */
  retries: z.number().int().min(0),
  /** Broken transfers continued with a Range request instead of starting again. */
  resumed: z.number().int().min(0),
});

export type DownloadUrlPayload = z.output<typeof downloadUrlPayload>;
export type DownloadUrlResult = z.input<typeof downloadUrlResult>;

export const downloadUrlSpec = {
  name: "download.url",
  description: "Downloads one http(s) URL into a storage URL: streamed, resumed with Range after breaks, verified by size/sha256, written atomically.",
  payload: downloadUrlPayload,
  result: downloadUrlResult,
  // The worker renews the lease by heartbeat; a lost worker is noticed within 2 minutes.
  defaults: { leaseSeconds: 120, maxAttempts: 3 },
  // One group per host[:port] (lower-case, default port dropped): a queue's per-group limit
  // then caps the connections the fleet opens to one server.
  groupKey: (payload) => new URL(payload.url).host,
} satisfies JobTypeSpec<typeof downloadUrlPayload, typeof downloadUrlResult>;
