/**
 * The public shape of a storage: URL-addressed, key-based, every call abortable.
 * Keys are '/'-separated paths relative to the storage's root (the URL's prefix).
 */

/** What a backend can do. Callers ask these, never the backend's name (OpenDAL). */
export interface Capabilities {
  /** read/readStream accept `range`, served by the backend (not by reading and skipping). */
  readonly rangeRead: boolean;
  /** copy() runs on the server without the bytes passing through this process. */
  readonly serverSideCopy: boolean;
  /** presign() returns URLs others can GET/PUT without credentials. */
  readonly presign: boolean;
  /** Large writes go up in parts and only appear once complete. */
  readonly multipart: boolean;
  /** list() with `delimiter: "/"` returns common prefixes instead of walking the tree. */
  readonly listDelimiter: boolean;
  /**
   * stat() returns the sha256 recorded at write time, without reading the object: always for
   * bytes and files; for streams when the caller passed `sha256` (or S3 saw it whole).
   */
  readonly storedSha256: boolean;
  /** Largest object the backend accepts, in bytes. */
  readonly maxObjectSize: number;
}

export interface ObjectInfo {
  /** Relative to the storage root. */
  readonly key: string;
  readonly size: number;
  readonly modified?: Date;
  readonly etag?: string;
  /** Hex sha256 of the content, when the backend stored it at write time. */
  readonly sha256?: string;
  readonly contentType?: string;
}

/** A "directory" returned by list() with a delimiter. */
export interface PrefixEntry {
  readonly key: string;
  readonly prefix: true;
}

export type ListEntry = (ObjectInfo & { readonly prefix?: false }) | PrefixEntry;

export interface OpOptions {
  signal?: AbortSignal;
}

export interface ByteRange {
  /** First byte, from 0. */
  offset: number;
  /** Bytes to read; to the end when omitted. */
  length?: number;
}

export interface ReadOptions extends OpOptions {
  range?: ByteRange;
}

export interface ListOptions extends OpOptions {
  /** "/" to list one level: objects directly under the prefix plus PrefixEntry rows. */
  delimiter?: "/";
  /** Keys fetched per request under the hood. Default: the backend's (1,000 for S3/GCS). */
  pageSize?: number;
}

/** Bytes, text (UTF-8), a web stream, or a local file to send as is. */
export type WriteBody = Uint8Array | string | ReadableStream<Uint8Array> | { file: string };

export interface WriteOptions extends OpOptions {
  contentType?: string;
  /** Expected hex sha256: a mismatch fails the write and leaves no object behind. */
  sha256?: string;
  /** Expected size in bytes, checked like sha256. Also a hint for multipart sizing. */
  size?: number;
  /** Called as bytes are sent. */
  onProgress?: (bytesSent: number) => void;
}

export interface PresignOptions {
  method: "GET" | "PUT";
  /** Seconds the URL stays valid. Default 900. */
  expiresIn?: number;
}

export interface Storage {
  /** The canonical URL of the root, without credentials or query. */
  readonly url: string;
  readonly scheme: StorageScheme;
  readonly capabilities: Capabilities;

  /** Throws NotFound when the key does not exist. */
  stat(key: string, options?: OpOptions): Promise<ObjectInfo>;
  exists(key: string, options?: OpOptions): Promise<boolean>;
  /** Every object under `prefix` (a key prefix, not necessarily a "directory"), in key order per page. */
  list(prefix?: string, options?: ListOptions): AsyncIterable<ListEntry>;
  read(key: string, options?: ReadOptions): Promise<Uint8Array>;
  readStream(key: string, options?: ReadOptions): Promise<ReadableStream<Uint8Array>>;
  /** The whole object as a stream plus its info (one request where the backend allows). */
  openRead(key: string, options?: OpOptions): Promise<{ stream: ReadableStream<Uint8Array>; info: ObjectInfo }>;
  /** Atomic: readers see the old object or the whole new one, never a part. */
  write(key: string, body: WriteBody, options?: WriteOptions): Promise<ObjectInfo>;
  /** Deleting a missing key is not an error (like `rm -f`). */
  delete(key: string, options?: OpOptions): Promise<void>;
  /** Deletes every object under `prefix`; returns how many. An empty prefix is refused. */
  deletePrefix(prefix: string, options?: OpOptions): Promise<number>;
  /** Server-side where `capabilities.serverSideCopy`, else streamed through this process. */
  copy(fromKey: string, toKey: string, options?: OpOptions): Promise<ObjectInfo>;
  /** Throws Unsupported unless `capabilities.presign`. */
  presign(key: string, options: PresignOptions): Promise<string>;
  /** Releases sockets and temp files. */
  close(): Promise<void>;
}

export type StorageScheme = "memory" | "file" | "s3" | "gs" | "rsync" | "ssh";
