import { resolve, sep } from "node:path";
import type { DroverClient, LeaseRef } from "@drover/protocol";
import { downloadFile, type Storage } from "@drover/storage";
import { NonRetryableError } from "../errors.ts";

export interface ManifestEntry {
  size: number;
  sha256: string;
}

/** The local file for a manifest path; a path that would leave `root` is refused. */
export function localPathOf(root: string, rel: string): string {
  const path = resolve(root, rel);
  if (!path.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw new NonRetryableError(`manifest path ${JSON.stringify(rel)} leaves the dataset directory`, { code: "DATASET_PATH_INVALID" });
  }
  return path;
}

/** The dataset's manifest from the coordinator, all pages, by path. */
export async function readManifest(coordinator: DroverClient, lease: LeaseRef, signal: AbortSignal): Promise<Map<string, ManifestEntry>> {
  const out = new Map<string, ManifestEntry>();
  let cursor: string | undefined;
  do {
    const page = await coordinator.workflow.files.query({ lease, limit: 10_000, ...(cursor !== undefined ? { cursor } : {}) }, { signal });
    for (const f of page.files) out.set(f.path, { size: f.size, sha256: f.sha256 });
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}

/**
 * The setup stage's copy: every manifest file into `dir`, `concurrency` at a time, each
 * written atomically and checked against the manifest's size and sha256 (a mismatch fails
 * the stage and leaves no bad copy).
 */
export async function fetchFiles(
  storage: Storage,
  manifest: Map<string, ManifestEntry>,
  dir: string,
  options: { concurrency: number; signal: AbortSignal; onFile?: (done: number, bytes: number) => void },
): Promise<{ files: number; bytes: number }> {
  const queue = [...manifest.entries()];
  let done = 0;
  let bytes = 0;
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const [rel, entry] = next;
      await downloadFile(storage, rel, localPathOf(dir, rel), { sha256: entry.sha256, size: entry.size, signal: options.signal });
      done += 1;
      bytes += entry.size;
      options.onFile?.(done, bytes);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, queue.length)) }, worker));
  return { files: done, bytes };
}
