import { statSync } from "node:fs";
import type { Driver, WriteSource } from "./driver.ts";
import { StorageError, abortedError, throwIfAborted, toStorageError } from "./errors.ts";
import { checkKey, checkPrefix } from "./keys.ts";
import { eachLimit } from "./limit.ts";
import { checksumMismatch, collect, hashFile, sha256Hex, verifying } from "./streams.ts";
import { yieldIfLong } from "./time-slice.ts";
import type {
  ByteRange,
  ListEntry,
  ListOptions,
  ObjectInfo,
  OpOptions,
  PresignOptions,
  ReadOptions,
  Storage,
  StorageScheme,
  WriteBody,
  WriteOptions,
} from "./types.ts";

const DELETE_BATCH = 1000;

/** The driver behind each Storage, for the transfer fast paths (not exported publicly). */
const drivers = new WeakMap<Storage, Driver>();

export function driverOf(storage: Storage): Driver | undefined {
  return drivers.get(storage);
}
const DELETE_CONCURRENCY = 16;

/**
 * Wraps a backend driver into the public Storage: checks every key, maps every error onto
 * a StorageError kind, verifies sizes and checksums, and refuses what the backend's
 * capabilities do not allow (never a silent no-op).
 */
export function createStorage(driver: Driver, url: string, scheme: StorageScheme): Storage {
  const caps = driver.capabilities;

  async function run<T>(key: string | undefined, signal: AbortSignal | undefined, op: () => Promise<T>): Promise<T> {
    throwIfAborted(signal, key);
    try {
      return await op();
    } catch (error) {
      throw mapError(error, key, signal);
    }
  }

  function mapError(error: unknown, key: string | undefined, signal: AbortSignal | undefined): StorageError {
    if (error instanceof StorageError) return error;
    // An SDK reports an abort in its own words; the caller's signal is the truth.
    if (signal?.aborted) return abortedError(signal, key);
    return driver.mapError?.(error, key) ?? toStorageError(error, key);
  }

  function checkRange(range: ByteRange | undefined, key: string): void {
    if (range === undefined) return;
    if (!caps.rangeRead) throw new StorageError("Unsupported", `${scheme} storage cannot read byte ranges`, { key });
    const { offset, length } = range;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new StorageError("InvalidKey", `range.offset must be a non-negative integer, got ${offset}`, { key });
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
      throw new StorageError("InvalidKey", `range.length must be a non-negative integer, got ${length}`, { key });
    }
  }

  async function prepare(key: string, body: WriteBody, options: WriteOptions): Promise<WriteSource> {
    const expect = (size: number, sha256: string | undefined): void => {
      if (options.size !== undefined && size !== options.size) throw checksumMismatch(`${size} bytes, expected ${options.size}`, key);
      if (options.sha256 !== undefined && sha256 !== undefined && sha256 !== options.sha256.toLowerCase()) {
        throw checksumMismatch(`sha256 ${sha256}, expected ${options.sha256}`, key);
      }
    };
    if (typeof body === "string" || body instanceof Uint8Array) {
      const data = typeof body === "string" ? Buffer.from(body, "utf8") : body;
      const sha256 = sha256Hex(data);
      expect(data.byteLength, sha256);
      return { kind: "bytes", data, size: data.byteLength, sha256 };
    }
    if (body instanceof ReadableStream) {
      const needsCheck = options.sha256 !== undefined || options.size !== undefined || options.onProgress !== undefined;
      const stream = needsCheck ? verifying(body, { size: options.size, sha256: options.sha256, key, onProgress: options.onProgress }) : body;
      return { kind: "stream", stream, size: options.size, sha256: options.sha256?.toLowerCase() };
    }
    if (body !== null && typeof body === "object" && typeof body.file === "string") {
      // Hash the file first when the backend stores sha256 or the caller expects one:
      // a mismatch is then found before anything is sent.
      if (options.sha256 !== undefined || caps.storedSha256) {
        const { size, sha256 } = await hashFile(body.file, options.signal);
        expect(size, sha256);
        return { kind: "file", path: body.file, size, sha256 };
      }
      // One system call on a local file: cheaper than a thread-pool round trip (time-slice.ts).
      await yieldIfLong();
      let size: number;
      try {
        size = statSync(body.file).size;
      } catch (error) {
        throw toStorageError(error, body.file);
      }
      expect(size, undefined);
      return { kind: "file", path: body.file, size };
    }
    throw new StorageError("InvalidKey", "write body must be bytes, a string, a ReadableStream or { file }", { key });
  }

  async function deleteKeys(keys: string[], signal: AbortSignal | undefined): Promise<void> {
    if (driver.deleteMany !== undefined) {
      await driver.deleteMany(keys, signal);
      return;
    }
    await eachLimit(keys, DELETE_CONCURRENCY, (key) => driver.delete(key, signal));
  }

  const storage: Storage = {
    url,
    scheme,
    capabilities: caps,

    stat(key, options: OpOptions = {}) {
      return run(key, options.signal, async () => {
        const info = await driver.stat(checkKey(key), options.signal);
        if (info === undefined) throw new StorageError("NotFound", `no object '${key}' in ${url}`, { key });
        return info;
      });
    },

    exists(key, options: OpOptions = {}) {
      return run(key, options.signal, async () => (await driver.stat(checkKey(key), options.signal)) !== undefined);
    },

    list(prefix = "", options: ListOptions = {}): AsyncIterable<ListEntry> {
      const checked = checkPrefix(prefix);
      if (options.pageSize !== undefined && (!Number.isSafeInteger(options.pageSize) || options.pageSize < 1)) {
        throw new StorageError("InvalidKey", `pageSize must be a positive integer, got ${options.pageSize}`);
      }
      if (options.delimiter !== undefined && options.delimiter !== "/") {
        throw new StorageError("Unsupported", `delimiter must be "/", got '${String(options.delimiter)}'`);
      }
      if (options.delimiter !== undefined && !caps.listDelimiter) {
        throw new StorageError("Unsupported", `${scheme} storage cannot list with a delimiter`);
      }
      return {
        async *[Symbol.asyncIterator]() {
          throwIfAborted(options.signal, prefix);
          try {
            yield* driver.list(checked, options);
          } catch (error) {
            throw mapError(error, prefix, options.signal);
          }
        },
      };
    },

    read(key, options: ReadOptions = {}) {
      return run(key, options.signal, async () => {
        checkRange(options.range, checkKey(key));
        if (driver.read !== undefined) return driver.read(key, options.range, options.signal);
        return collect(await driver.readStream(key, options.range, options.signal));
      });
    },

    readStream(key, options: ReadOptions = {}) {
      return run(key, options.signal, async () => {
        checkRange(options.range, checkKey(key));
        return driver.readStream(key, options.range, options.signal);
      });
    },

    openRead(key, options: OpOptions = {}) {
      return run(key, options.signal, async () => {
        checkKey(key);
        if (driver.openRead !== undefined) return driver.openRead(key, options.signal);
        const info = await driver.stat(key, options.signal);
        if (info === undefined) throw new StorageError("NotFound", `no object '${key}' in ${url}`, { key });
        return { info, stream: await driver.readStream(key, undefined, options.signal) };
      });
    },

    write(key, body, options: WriteOptions = {}) {
      return run(key, options.signal, async () => {
        const source = await prepare(checkKey(key), body, options);
        const info = await driver.write(key, source, { contentType: options.contentType, signal: options.signal });
        if (source.kind !== "stream") options.onProgress?.(source.size);
        return info.sha256 === undefined && source.sha256 !== undefined ? { ...info, sha256: source.sha256 } : info;
      });
    },

    delete(key, options: OpOptions = {}) {
      return run(key, options.signal, () => driver.delete(checkKey(key), options.signal));
    },

    deletePrefix(prefix, options: OpOptions = {}) {
      return run(prefix, options.signal, async () => {
        if (checkPrefix(prefix) === "") {
          throw new StorageError("InvalidKey", "deletePrefix needs a non-empty prefix (refusing to delete the whole storage)");
        }
        let count = 0;
        let batch: string[] = [];
        for await (const entry of driver.list(prefix, { signal: options.signal })) {
          if (entry.prefix === true) continue;
          batch.push(entry.key);
          if (batch.length === DELETE_BATCH) {
            await deleteKeys(batch, options.signal);
            count += batch.length;
            batch = [];
          }
        }
        if (batch.length > 0) await deleteKeys(batch, options.signal);
        return count + batch.length;
      });
    },

    copy(fromKey, toKey, options: OpOptions = {}) {
      return run(fromKey, options.signal, async () => {
        checkKey(fromKey);
        checkKey(toKey);
        if (caps.serverSideCopy && driver.copy !== undefined) return driver.copy(fromKey, toKey, options.signal);
        const source = await driver.stat(fromKey, options.signal);
        if (source === undefined) throw new StorageError("NotFound", `no object '${fromKey}' in ${url}`, { key: fromKey });
        const stream = await driver.readStream(fromKey, undefined, options.signal);
        const checked = verifying(stream, { size: source.size, sha256: source.sha256, key: fromKey });
        return driver.write(toKey, { kind: "stream", stream: checked, size: source.size, sha256: source.sha256 }, { contentType: source.contentType, signal: options.signal });
      });
    },

    presign(key, options: PresignOptions) {
      return run(key, undefined, async () => {
        checkKey(key);
        if (!caps.presign || driver.presign === undefined) throw new StorageError("Unsupported", `${scheme} storage cannot presign URLs`, { key });
        const expiresIn = options.expiresIn ?? 900;
        if (!Number.isSafeInteger(expiresIn) || expiresIn < 1 || expiresIn > 7 * 24 * 3600) {
          throw new StorageError("ConfigInvalid", `expiresIn must be 1..604800 seconds, got ${expiresIn}`, { key });
        }
        if (options.method !== "GET" && options.method !== "PUT") {
          throw new StorageError("ConfigInvalid", `method must be GET or PUT, got '${String(options.method)}'`, { key });
        }
        return driver.presign(key, { method: options.method, expiresIn });
      });
    },

    async close() {
      await driver.close?.();
    },
  };
  drivers.set(storage, driver);
  return storage;
}
