import type { ListEntry, ObjectInfo } from "../types.ts";

/**
 * Turns a sorted walk of every key under `prefix` into one level of it, the way S3 answers
 * a delimiter listing: objects directly under the prefix, and each deeper "directory" once
 * as a PrefixEntry ending in "/", in the position of its first key.
 */
export async function* listOneLevel(sorted: AsyncIterable<ObjectInfo> | Iterable<ObjectInfo>, prefix: string): AsyncGenerator<ListEntry> {
  let lastPrefix: string | undefined;
  for await (const entry of sorted) {
    const rest = entry.key.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash < 0) {
      yield entry;
      continue;
    }
    const dir = prefix + rest.slice(0, slash + 1);
    if (dir !== lastPrefix) {
      lastPrefix = dir;
      yield { key: dir, prefix: true };
    }
  }
}
