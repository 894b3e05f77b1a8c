import { statSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { StorageError } from "../errors.ts";
import { compareKeys } from "../keys.ts";
import { yieldIfLong } from "../time-slice.ts";

export interface LocalFile {
  /** '/'-separated path relative to the tree's root: the object key below the prefix. */
  rel: string;
  path: string;
  size: number;
}

/**
 * Every regular file under `root`, in key order. Symlinks are skipped rather than followed,
 * so an upload never wanders outside the directory it was given.
 */
export async function walkLocalTree(root: string, signal?: AbortSignal): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  const checkAborted = (): void => {
    if (signal?.aborted) throw new StorageError("Aborted", "directory scan aborted", { cause: signal.reason });
  };
  const visit = async (dir: string, rel: string): Promise<void> => {
    checkAborted();
    const entries = await readdir(dir, { withFileTypes: true });
    // Sizes are read with synchronous stats (one system call each), in time slices: through
    // the thread pool, the round trip cost more than the call.
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      await yieldIfLong();
      checkAborted();
      const path = join(dir, entry.name);
      out.push({ rel: rel + entry.name, path, size: statSync(path).size });
    }
    for (const entry of entries) if (entry.isDirectory()) await visit(join(dir, entry.name), `${rel + entry.name}/`);
  };
  try {
    const s = await stat(root);
    if (!s.isDirectory()) throw new StorageError("InvalidKey", `'${root}' is not a directory`, { key: root });
  } catch (error) {
    if (error instanceof StorageError) throw error;
    throw new StorageError("NotFound", `local directory '${root}' does not exist`, { key: root, cause: error });
  }
  await visit(root, "");
  return out.sort((a, b) => compareKeys(a.rel, b.rel));
}
