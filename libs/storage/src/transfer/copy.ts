import { checkKey, checkPrefix } from "../keys.ts";
import { eachLimit } from "../limit.ts";
import type { ObjectInfo, Storage } from "../types.ts";
import { ProgressTracker } from "./progress.ts";
import { withRetry } from "./retry.ts";
import { listObjects, sha256Of, type DirTransferOptions, type DirTransferSummary } from "./upload-dir.ts";

export interface CopyObjectOptions {
  signal?: AbortSignal;
  /** Called with the bytes sent so far. */
  onProgress?: (bytes: number) => void;
  /** The source's stat, when the caller already has it. */
  info?: ObjectInfo;
}

/**
 * Copies one object between any two storages. Within one storage that can copy on the
 * server, the bytes never pass through here; otherwise the source streams straight into the
 * destination's atomic write (no temp file where both sides stream), checked against the
 * source's size and stored sha256.
 */
export async function copyObject(from: Storage, fromKey: string, to: Storage, toKey: string, options: CopyObjectOptions = {}): Promise<ObjectInfo> {
  const { signal } = options;
  if (from === to || (from.url === to.url && from.capabilities.serverSideCopy)) {
    const info = await from.copy(fromKey, toKey, { signal });
    options.onProgress?.(info.size);
    return info;
  }
  const info = options.info?.sha256 !== undefined || !from.capabilities.storedSha256 ? (options.info ?? (await from.stat(fromKey, { signal }))) : await from.stat(fromKey, { signal });
  const stream = await from.readStream(fromKey, { signal });
  return to.write(toKey, stream, { size: info.size, sha256: info.sha256, contentType: info.contentType, signal, onProgress: options.onProgress });
}

/**
 * Copies every object under `fromPrefix` to `toPrefix` of another storage (the CLI's
 * `cp -r` and `sync` between two remotes), skipping identical objects unless told not to.
 */
export async function copyPrefix(from: Storage, fromPrefix: string, to: Storage, toPrefix: string, options: DirTransferOptions = {}): Promise<DirTransferSummary> {
  const started = performance.now();
  const source = checkPrefix(fromPrefix);
  const target = checkPrefix(toPrefix);
  const objects: ObjectInfo[] = [];
  for await (const entry of from.list(source, { signal: options.signal })) {
    if (entry.prefix !== true) objects.push({ ...entry, key: checkKey(entry.key) });
  }
  const tracker = new ProgressTracker(options.onProgress);
  tracker.state.filesTotal = objects.length;
  tracker.state.bytesTotal = objects.reduce((sum, o) => sum + o.size, 0);
  tracker.emit();
  const existing = options.skipIdentical === false ? new Map<string, ObjectInfo>() : await listObjects(to, target, options.signal);
  let bytes = 0;
  await eachLimit(objects, options.concurrency ?? 8, async (object) => {
    const rel = object.key.slice(source.length);
    const destKey = target + rel;
    if (await sameObject(from, object, to, existing.get(destKey), options.signal)) {
      tracker.bytes(object.size);
      tracker.fileDone(rel, true);
      return;
    }
    await withRetry(async () => {
      let sent = 0;
      await copyObject(from, object.key, to, destKey, {
        signal: options.signal,
        info: object,
        onProgress: (total) => {
          tracker.bytes(total - sent);
          sent = total;
        },
      });
    }, { retries: options.retries, signal: options.signal });
    bytes += object.size;
    tracker.fileDone(rel, false);
  });
  tracker.emit();
  const skipped = tracker.state.filesSkipped;
  return { files: objects.length - skipped, skipped, bytes, seconds: (performance.now() - started) / 1000 };
}

async function sameObject(from: Storage, object: ObjectInfo, to: Storage, dest: ObjectInfo | undefined, signal?: AbortSignal): Promise<boolean> {
  if (dest === undefined || dest.size !== object.size) return false;
  return (await sha256Of(from, object, signal)) === (await sha256Of(to, dest, signal));
}
