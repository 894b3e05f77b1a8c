import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
  type PutObjectCommandInput,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { readFile } from "node:fs/promises";
import type { Driver, WriteSource } from "../driver.ts";
import { StorageError } from "../errors.ts";
import { compareKeys } from "../keys.ts";
import type { S3Options } from "../options.ts";
import { bytesStream, sha256Hex, verifying, webFromNode } from "../streams.ts";
import type { ByteRange, ListEntry, ObjectInfo } from "../types.ts";
import { readHead, sliceStream, untilAborted, unquote } from "./cloud-helpers.ts";
import { mapS3Error, s3ErrorName } from "./s3-errors.ts";
import { multipartUpload } from "./s3-upload.ts";

/**
 * Amazon S3 and S3-compatible servers (MinIO, R2, s3rver). Small writes are one PutObject;
 * larger ones (and streams longer than one part) a multipart upload (s3-upload.ts), which
 * only creates the object at CompleteMultipartUpload, so a failed or aborted write leaves
 * nothing behind. The sha256 travels as user metadata (x-amz-meta-sha256) whenever it
 * is known before the upload starts.
 */
export interface S3DriverOptions extends S3Options {
  bucket: string;
  /** "" or "a/b/": prefixed onto every key. */
  root: string;
  /**
   * Objects larger than this are copied through this process (read + multipart write)
   * instead of by CopyObject, whose limit is 5 GiB. Only tests lower it.
   */
  maxServerCopySize?: number;
}

const MIB = 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * MIB;
const MAX_PARTS = 10_000;
const DELETE_BATCH = 1000;
const COPY_OBJECT_LIMIT = 5 * 1024 ** 3;

export async function s3Driver(options: S3DriverOptions): Promise<Driver> {
  const { bucket, root } = options;
  const client = new S3Client({
    region: options.region ?? process.env["AWS_REGION"] ?? "us-east-1",
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle ?? false,
    // Explicit keys win; else a named profile; else the SDK's default chain.
    credentials: options.credentials,
    profile: options.credentials === undefined ? options.profile : undefined,
    // The default (WHEN_SUPPORTED) sends stream bodies aws-chunked with a trailing CRC:
    // s3rver stores the framing as data, and the checksums cost CPU we spend on sha256.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const partSizeOption = options.partSize ?? DEFAULT_PART_SIZE;
  const queueSize = options.queueSize ?? 4;
  const uploadCutoff = options.uploadCutoff ?? 200 * MIB;
  const maxServerCopySize = options.maxServerCopySize ?? COPY_OBJECT_LIMIT;
  const where = `s3://${bucket}/${root}`;
  let bucketSeen = false;

  const notFound = (key: string): StorageError => new StorageError("NotFound", `no object '${key}' in ${where}`, { key });

  async function head(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    try {
      const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: root + key }), { abortSignal: signal });
      bucketSeen = true;
      return {
        key,
        size: res.ContentLength ?? 0,
        modified: res.LastModified,
        etag: unquote(res.ETag),
        sha256: res.Metadata?.["sha256"],
        contentType: res.ContentType,
      };
    } catch (error) {
      if (s3ErrorName(error) !== "NotFound") throw error;
      // HEAD has no body, so a missing bucket also looks like a missing key: ask once.
      if (!bucketSeen) {
        await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal }).catch((bucketError: unknown) => {
          if (s3ErrorName(bucketError) !== "NotFound") throw bucketError;
          throw new StorageError("NotFound", `S3 bucket '${bucket}' does not exist`, { key, cause: bucketError });
        });
        bucketSeen = true;
      }
      return undefined;
    }
  }

  /**
   * GetObject for a range; undefined when the range starts at or after the end (S3's 416).
   * `slice` is set when the server sent more than was asked (a 200 with the whole object, as
   * HTTP allows, or a wider Content-Range, as s3rver does for "bytes=0-0"): the caller cuts
   * the asked bytes out of what came.
   */
  async function get(key: string, range: ByteRange | undefined, signal?: AbortSignal): Promise<{ res: GetObjectCommandOutput; slice?: ByteRange } | undefined> {
    if (range?.length === 0) {
      if ((await head(key, signal)) === undefined) throw notFound(key);
      return undefined;
    }
    const whole = range === undefined || (range.offset === 0 && range.length === undefined);
    const Range = whole ? undefined : `bytes=${range.offset}-${range.length === undefined ? "" : range.offset + range.length - 1}`;
    let res: GetObjectCommandOutput;
    try {
      res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: root + key, Range }), { abortSignal: signal });
    } catch (error) {
      if (Range === undefined || s3ErrorName(error) !== "InvalidRange") throw error;
      if ((await head(key, signal)) === undefined) throw notFound(key);
      return undefined;
    }
    if (Range === undefined || range === undefined) return { res };
    const sent = /^bytes (\d+)-(\d+)\//.exec(res.ContentRange ?? "");
    const start = sent === null ? 0 : Number(sent[1]);
    const count = sent === null ? res.ContentLength : Number(sent[2]) - start + 1;
    if (start === range.offset && (range.length === undefined || (count !== undefined && count <= range.length))) return { res };
    if (start > range.offset) {
      res.Body?.transformToWebStream().cancel().catch(() => undefined);
      throw new StorageError("Unexpected", `S3 answered range ${res.ContentRange} to ${Range} for '${key}' in ${where}`, { key });
    }
    return { res, slice: { offset: range.offset - start, length: range.length } };
  }

  /** The body of a GetObject as a web stream, cut to `slice`. */
  function bodyStream(got: { res: GetObjectCommandOutput; slice?: ByteRange } | undefined): ReadableStream<Uint8Array> {
    if (got?.res.Body === undefined) return bytesStream(new Uint8Array(0));
    // In Node the body is an IncomingMessage: wrapped by webFromNode, a download to a file gets it back unwrapped.
    const body = got.res.Body as unknown;
    const stream = body instanceof Readable ? webFromNode(body) : (got.res.Body.transformToWebStream() as ReadableStream<Uint8Array>);
    return got.slice === undefined ? stream : sliceStream(stream, got.slice.offset, got.slice.length);
  }

  function partSizeFor(size: number | undefined): number {
    const needed = size === undefined ? 0 : Math.ceil(size / MAX_PARTS / MIB) * MIB;
    return Math.max(partSizeOption, needed);
  }

  async function putBytes(key: string, data: Uint8Array, params: Omit<PutObjectCommandInput, "Body">, signal?: AbortSignal): Promise<ObjectInfo> {
    const res = await client.send(new PutObjectCommand({ ...params, Body: data, ContentLength: data.byteLength }), { abortSignal: signal });
    return { key, size: data.byteLength, etag: unquote(res.ETag), sha256: params.Metadata?.["sha256"], contentType: params.ContentType };
  }

  async function putMultipart(key: string, body: Uint8Array | ReadableStream<Uint8Array> | NodeJS.ReadableStream, size: number | undefined, params: Omit<PutObjectCommandInput, "Body">, signal?: AbortSignal): Promise<ObjectInfo> {
    const etag = await multipartUpload(client, params, body, { partSize: partSizeFor(size), queueSize, signal });
    // The object exists now: a signal firing from here on is too late to undo the write.
    return (await head(key)) ?? { key, size: size ?? 0, etag: unquote(etag), sha256: params.Metadata?.["sha256"], contentType: params.ContentType };
  }

  async function write(key: string, source: WriteSource, contentType: string | undefined, signal?: AbortSignal): Promise<ObjectInfo> {
    const params = (sha256: string | undefined): Omit<PutObjectCommandInput, "Body"> => ({
      Bucket: bucket,
      Key: root + key,
      ContentType: contentType,
      Metadata: sha256 === undefined ? undefined : { sha256 },
    });
    const partSize = partSizeFor(source.size);
    switch (source.kind) {
      case "bytes":
        if (source.size <= partSize) return putBytes(key, source.data, params(source.sha256), signal);
        return putMultipart(key, source.data, source.size, params(source.sha256), signal);
      case "file":
        if (source.size <= partSize) {
          const data = await readFile(source.path, { signal });
          return putBytes(key, data, params(source.sha256 ?? sha256Hex(data)), signal);
        }
        if (source.size <= uploadCutoff) {
          // One streamed request: fewer round trips and no part bookkeeping on the server.
          const body = createReadStream(source.path, { signal, highWaterMark: MIB });
          const res = await client.send(new PutObjectCommand({ ...params(source.sha256), Body: body, ContentLength: source.size }), { abortSignal: signal });
          return { key, size: source.size, etag: unquote(res.ETag), sha256: source.sha256, contentType };
        }
        return putMultipart(key, createReadStream(source.path, { signal, highWaterMark: MIB }), source.size, params(source.sha256), signal);
      case "stream": {
        // A stream that fits in one part goes up as one PutObject, with its sha256 stored
        // even when the caller did not give one; a longer one as a multipart upload.
        const head = await readHead(untilAborted(source.stream, signal), partSize);
        if (head.complete) return putBytes(key, head.data, params(source.sha256 ?? sha256Hex(head.data)), signal);
        return putMultipart(key, head.stream, source.size, params(source.sha256), signal);
      }
    }
  }

  async function deleteMany(keys: string[], signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const res = await client.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((k) => ({ Key: root + k })), Quiet: true } }),
        { abortSignal: signal },
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length > 0) {
        const first = failed[0]!;
        const key = first.Key?.slice(root.length);
        const cause = Object.assign(new Error(first.Message ?? first.Code ?? "delete failed"), { name: first.Code ?? "DeleteError" });
        throw mapS3Error(cause, key, bucket, where) ?? new StorageError("Unexpected", `deleting ${failed.length} of ${batch.length} objects in ${where} failed: ${first.Code}: ${first.Message}`, { key, cause });
      }
    }
  }

  return {
    capabilities: {
      rangeRead: true,
      serverSideCopy: true,
      presign: true,
      multipart: true,
      listDelimiter: true,
      storedSha256: true,
      maxObjectSize: 5 * 1024 ** 4,
    },

    stat: head,

    async *list(prefix, { delimiter, pageSize, signal }): AsyncGenerator<ListEntry> {
      let token: string | undefined;
      // A prefix whose keys span two pages may come back on both (s3rver does); say it once.
      let lastPrefix: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: root + prefix, Delimiter: delimiter, MaxKeys: pageSize ?? 1000, ContinuationToken: token }),
          { abortSignal: signal },
        );
        const entries: ListEntry[] = [];
        for (const object of page.Contents ?? []) {
          // "dir/" placeholder objects (made by consoles) are not objects a key can name.
          if (object.Key === undefined || object.Key.endsWith("/")) continue;
          entries.push({ key: object.Key.slice(root.length), size: object.Size ?? 0, modified: object.LastModified, etag: unquote(object.ETag) });
        }
        for (const common of page.CommonPrefixes ?? []) {
          if (common.Prefix !== undefined && common.Prefix !== lastPrefix) entries.push({ key: common.Prefix.slice(root.length), prefix: true });
          lastPrefix = common.Prefix ?? lastPrefix;
        }
        // S3 returns objects and prefixes as two sorted lists; one page is one sorted run.
        entries.sort((a, b) => compareKeys(a.key, b.key));
        yield* entries;
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    },

    async read(key, range, signal) {
      const got = await get(key, range, signal);
      if (got?.res.Body === undefined) return new Uint8Array(0);
      const bytes = await got.res.Body.transformToByteArray();
      if (got.slice === undefined) return bytes;
      const end = got.slice.length === undefined ? undefined : got.slice.offset + got.slice.length;
      return bytes.subarray(got.slice.offset, end);
    },

    async readStream(key, range, signal) {
      return bodyStream(await get(key, range, signal));
    },

    // One GET instead of HEAD + GET: the response headers carry the stored sha256.
    async openRead(key, signal) {
      const got = await get(key, undefined, signal);
      const res = got!.res;
      const info: ObjectInfo = {
        key,
        size: res.ContentLength ?? 0,
        modified: res.LastModified,
        etag: unquote(res.ETag),
        sha256: res.Metadata?.["sha256"],
        contentType: res.ContentType,
      };
      return { stream: bodyStream(got), info };
    },

    write: (key, source, { contentType, signal }) => write(key, source, contentType, signal),

    async delete(key, signal) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: root + key }), { abortSignal: signal });
    },

    deleteMany,

    async copy(fromKey, toKey, signal) {
      const source = await head(fromKey, signal);
      if (source === undefined) throw notFound(fromKey);
      if (source.size > maxServerCopySize) {
        // CopyObject stops at 5 GiB and s3rver has no UploadPartCopy: stream the bytes
        // through this process as a multipart upload, checked against the stored sha256.
        const checked = verifying(bodyStream(await get(fromKey, undefined, signal)), { size: source.size, sha256: source.sha256, key: fromKey });
        return write(toKey, { kind: "stream", stream: checked, size: source.size, sha256: source.sha256 }, source.contentType, signal);
      }
      const copySource = `${bucket}/${(root + fromKey).split("/").map(encodeURIComponent).join("/")}`;
      const res = await client.send(
        new CopyObjectCommand({ Bucket: bucket, Key: root + toKey, CopySource: copySource, MetadataDirective: "COPY" }),
        { abortSignal: signal },
      );
      return {
        key: toKey,
        size: source.size,
        modified: res.CopyObjectResult?.LastModified,
        etag: unquote(res.CopyObjectResult?.ETag),
        sha256: source.sha256,
        contentType: source.contentType,
      };
    },

    async presign(key, { method, expiresIn }) {
      const command = method === "GET" ? new GetObjectCommand({ Bucket: bucket, Key: root + key }) : new PutObjectCommand({ Bucket: bucket, Key: root + key });
      return getSignedUrl(client, command, { expiresIn });
    },

    mapError: (error, key) => mapS3Error(error, key, bucket, where),

    async close() {
      client.destroy();
    },
  };
}
