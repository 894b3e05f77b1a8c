import { hashFile, walkLocalTree, type Storage } from "@drover/storage";
import type { ManifestEntry } from "./fetch-files.ts";

/** Files the run writes beside the dataset's own, never pushed back. */
export const RUN_FILES = new Set(["dataset.json", "project.json"]);
/** Directories tools keep their state in (Snakemake's), never pushed back. */
const STATE_DIRS = [".snakemake/"];

export interface PushBackResult {
  uploaded: string[];
  uploadedBytes: number;
  /** Manifest files the workflow removed: recorded, not deleted from storage. */
  deleted: string[];
}

/**
 * The upload stage: hashes every file the workflow left, pushes back those that are new or
 * whose sha256 differs from the manifest (each write atomic and checked against that
 * sha256), and lists manifest files that are gone. Deleted files are recorded, not removed
 * from storage: a workflow's mistake must not destroy the dataset.
 */
export async function pushBack(
  storage: Storage,
  dir: string,
  manifest: Map<string, ManifestEntry>,
  options: { concurrency: number; signal: AbortSignal; onFile?: (done: number, total: number) => void },
): Promise<PushBackResult> {
  const all = await walkLocalTree(dir, options.signal);
  // Deleted = in the manifest, gone from the directory; the run's own files are never pushed.
  const present = new Set(all.map((f) => f.rel));
  const deleted = [...manifest.keys()].filter((p) => !present.has(p)).sort();
  const local = all.filter((f) => !RUN_FILES.has(f.rel) && !STATE_DIRS.some((d) => f.rel.startsWith(d)));
  const uploaded: string[] = [];
  let uploadedBytes = 0;
  let done = 0;
  const queue = [...local];
  const worker = async (): Promise<void> => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      const before = manifest.get(f.rel);
      const { sha256, size } = await hashFile(f.path, options.signal);
      if (before === undefined || before.size !== size || before.sha256 !== sha256) {
        await storage.write(f.rel, { file: f.path }, { sha256, size, signal: options.signal });
        uploaded.push(f.rel);
        uploadedBytes += size;
      }
      options.onFile?.(++done, local.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, queue.length)) }, worker));
  return { uploaded: uploaded.sort(), uploadedBytes, deleted };
}
