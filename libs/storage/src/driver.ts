import type { StorageError } from "./errors.ts";
import type { ByteRange, Capabilities, ListEntry, ObjectInfo, PresignOptions } from "./types.ts";

/**
 * What one backend implements (one file per backend under backends/). Keys arrive already
 * checked by keys.ts and relative to the storage root; the Storage wrapper (storage.ts)
 * adds validation, checksums, progress and error mapping, so a driver stays small.
 */
export interface Driver {
  readonly capabilities: Capabilities;
  /** undefined when the key does not exist. */
  stat(key: string, signal?: AbortSignal): Promise<ObjectInfo | undefined>;
  /** Keys relative to the root, in UTF-8 byte order. */
  list(prefix: string, options: { delimiter?: "/"; pageSize?: number; signal?: AbortSignal }): AsyncIterable<ListEntry>;
  /** Throws NotFound for a missing key. `range` only when capabilities.rangeRead. */
  readStream(key: string, range: ByteRange | undefined, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /** The whole object and its info from one request (S3's GET carries the metadata). */
  openRead?(key: string, signal?: AbortSignal): Promise<{ stream: ReadableStream<Uint8Array>; info: ObjectInfo }>;
  /**
   * Copies the whole object to a local file without passing it through JS (local: copyFile);
   * resolves to the size of the file written.
   */
  readToFile?(key: string, path: string, signal?: AbortSignal): Promise<number>;
  /** Optional faster whole-object read. */
  read?(key: string, range: ByteRange | undefined, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Writes atomically. A stream source that errors (an abort, or a checksum the wrapper
   * found wrong at its end) must leave no object and no temp file behind.
   */
  write(key: string, source: WriteSource, options: DriverWriteOptions): Promise<ObjectInfo>;
  /** Missing keys are not an error. */
  delete(key: string, signal?: AbortSignal): Promise<void>;
  /** Batch delete where the backend has one (S3 DeleteObjects); else the wrapper loops. */
  deleteMany?(keys: string[], signal?: AbortSignal): Promise<void>;
  /** Only when capabilities.serverSideCopy; else the wrapper streams. */
  copy?(fromKey: string, toKey: string, signal?: AbortSignal): Promise<ObjectInfo>;
  presign?(key: string, options: Required<PresignOptions>): Promise<string>;
  /** Maps this SDK's errors; undefined falls back to toStorageError. */
  mapError?(error: unknown, key?: string): StorageError | undefined;
  close?(): Promise<void>;
  /**
   * Whole-directory fast paths (rsync moves a tree in one run far faster than file by file).
   * When present, uploadDir/downloadDir hand the job over instead of copying per file.
   * `prefix` is "" or ends with "/".
   */
  uploadDir?(localDir: string, prefix: string, options: DirTransferOptions): Promise<DirTransferResult>;
  downloadDir?(prefix: string, localDir: string, options: DirTransferOptions): Promise<DirTransferResult>;
}

export interface DirTransferOptions {
  signal?: AbortSignal;
  /** Leave files the destination already holds (by the driver's own test). Default true. */
  skipIdentical?: boolean;
  /** Retries per file on retryable errors, where the driver copies file by file. Default 3. */
  retries?: number;
  /** Files in flight at once, where the driver copies file by file. Default 8. */
  concurrency?: number;
  /** Called as the transfer goes; totals may grow while the tree is being scanned. */
  onProgress?: (progress: DirTransferProgress) => void;
}

export interface DirTransferProgress {
  /** Files finished, skipped ones included when the driver reports `skipped`. */
  files: number;
  bytes: number;
  skipped?: number;
  /** Totals, when the driver knows them before it starts. */
  filesTotal?: number;
  bytesTotal?: number;
  /** The file just finished, as a '/'-separated path below the transfer's directories. */
  file?: string;
}

export interface DirTransferResult {
  /** Files copied. */
  files: number;
  /** Files left alone because the destination already had them identical. */
  skipped: number;
  /** Bytes of the copied files. */
  bytes: number;
}

/**
 * A write's content, prepared by the wrapper: bytes and files come with their size and
 * sha256 already known; a stream's are known only when the caller gave them.
 */
export type WriteSource =
  | { kind: "bytes"; data: Uint8Array; size: number; sha256: string }
  | { kind: "file"; path: string; size: number; sha256?: string }
  | { kind: "stream"; stream: ReadableStream<Uint8Array>; size?: number; sha256?: string };

export interface DriverWriteOptions {
  contentType?: string;
  signal?: AbortSignal;
}
