import type { Driver } from "../driver.ts";
import { StorageError } from "../errors.ts";
import { compareKeys } from "../keys.ts";
import { bytesStream, collect, sha256Hex } from "../streams.ts";
import type { ListEntry, ObjectInfo } from "../types.ts";
import { listOneLevel } from "./list-helpers.ts";

/**
 * In-process storage for tests and small pipelines. `memory://name/prefix`: every storage
 * opened with the same name in one process shares one map (like a bucket), so a writer
 * and a reader opened separately see each other. Objects are replaced whole, so writes
 * are atomic for free.
 */
interface MemoryObject {
  data: Uint8Array;
  modified: Date;
  sha256: string;
  contentType?: string;
}

const buckets = new Map<string, Map<string, MemoryObject>>();

/** Drops a named memory bucket (tests call it to start clean). */
export function clearMemoryBucket(name: string): void {
  buckets.delete(name);
}

export interface MemoryOptions {
  /** The bucket name (URL host). */
  name: string;
  /** Root prefix: "" or "a/b/". */
  root: string;
}

export function memoryDriver(options: MemoryOptions): Driver {
  let bucket = buckets.get(options.name);
  if (bucket === undefined) {
    bucket = new Map();
    buckets.set(options.name, bucket);
  }
  const objects = bucket;
  const root = options.root;

  const info = (key: string, object: MemoryObject): ObjectInfo => ({
    key,
    size: object.data.byteLength,
    modified: object.modified,
    etag: object.sha256.slice(0, 32),
    sha256: object.sha256,
    contentType: object.contentType,
  });

  const get = (key: string): MemoryObject => {
    const object = objects.get(root + key);
    if (object === undefined) throw new StorageError("NotFound", `no object '${key}' in memory://${options.name}/${root}`, { key });
    return object;
  };

  const slice = (data: Uint8Array, range: { offset: number; length?: number } | undefined): Uint8Array => {
    if (range === undefined) return data;
    const end = range.length === undefined ? data.byteLength : Math.min(data.byteLength, range.offset + range.length);
    return data.subarray(Math.min(range.offset, data.byteLength), end);
  };

  function* sortedUnder(prefix: string): Generator<ObjectInfo> {
    const full = root + prefix;
    const keys = [...objects.keys()].filter((k) => k.startsWith(full)).sort(compareKeys);
    for (const k of keys) {
      const object = objects.get(k);
      if (object !== undefined) yield info(k.slice(root.length), object);
    }
  }

  return {
    capabilities: {
      rangeRead: true,
      serverSideCopy: true,
      presign: false,
      multipart: false,
      listDelimiter: true,
      storedSha256: true,
      maxObjectSize: 2 ** 31 - 1,
    },

    async stat(key) {
      const object = objects.get(root + key);
      return object === undefined ? undefined : info(key, object);
    },

    list(prefix, { delimiter }): AsyncIterable<ListEntry> {
      const all = sortedUnder(prefix);
      return delimiter === "/" ? listOneLevel(all, prefix) : (async function* () {
        yield* all;
      })();
    },

    async read(key, range) {
      return Uint8Array.from(slice(get(key).data, range));
    },

    async readStream(key, range) {
      return bytesStream(slice(get(key).data, range));
    },

    async write(key, source, options) {
      let data: Uint8Array;
      if (source.kind === "bytes") data = Uint8Array.from(source.data);
      else if (source.kind === "stream") data = await collect(source.stream);
      else {
        const { readFile } = await import("node:fs/promises");
        data = await readFile(source.path);
      }
      const object: MemoryObject = {
        data,
        modified: new Date(),
        sha256: source.kind === "bytes" ? source.sha256 : sha256Hex(data),
        contentType: options.contentType,
      };
      objects.set(root + key, object);
      return info(key, object);
    },

    async delete(key) {
      objects.delete(root + key);
    },

    async copy(fromKey, toKey) {
      const object = get(fromKey);
      const copy = { ...object, modified: new Date() };
      objects.set(root + toKey, copy);
      return info(toKey, copy);
    },
  };
}
