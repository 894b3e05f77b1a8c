import { openStorage, sha256Of } from "@drover/storage";
import type Database from "better-sqlite3";

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
  modified: number;
}

export interface ManifestDiff {
  files: ManifestFile[];
  /** Files whose row is new or differs from the previous manifest: all a refresh writes. */
  dirty: ManifestFile[];
  added: number;
  changed: number;
  removed: string[];
}

/**
 * Lists a dataset's storage prefix and works out its manifest. A file whose size and
 * modification time match the previous manifest keeps its sha256; otherwise the sha256 is
 * the one the backend stored at upload (S3, GCS), or else hashed from the bytes. So a
 * refresh after an upload reads only what changed.
 */
export async function scanManifest(prefix: string, previous: Map<string, ManifestFile>, signal?: AbortSignal): Promise<ManifestDiff> {
  const storage = await openStorage(prefix);
  try {
    const files: ManifestFile[] = [];
    const dirty: ManifestFile[] = [];
    let added = 0;
    let changed = 0;
    const seen = new Set<string>();
    for await (const entry of storage.list("", { signal })) {
      if ("prefix" in entry && entry.prefix === true) continue;
      const info = entry as { key: string; size: number; modified?: Date; sha256?: string };
      seen.add(info.key);
      const modified = info.modified?.getTime() ?? 0;
      const before = previous.get(info.key);
      if (before !== undefined && before.size === info.size && before.modified === modified && info.sha256 === undefined) {
        files.push(before);
        continue;
      }
      const sha256 = await sha256Of(storage, info, signal);
      if (before === undefined) added++;
      else if (before.sha256 !== sha256 || before.size !== info.size) changed++;
      const file = { path: info.key, size: info.size, sha256, modified };
      files.push(file);
      dirty.push(file);
    }
    const removed = [...previous.keys()].filter((path) => !seen.has(path)).sort();
    return { files, dirty, added, changed, removed };
  } finally {
    await storage.close();
  }
}

/** Applies a refresh in one transaction: removed and changed rows only, then the totals. */
export function writeManifest(client: Database.Database, datasetId: number, diff: ManifestDiff, now: number): void {
  const upsert = client.prepare(
    `INSERT INTO dataset_files (dataset_id, path, size, sha256, modified) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (dataset_id, path) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, modified = excluded.modified`,
  );
  const remove = client.prepare(`DELETE FROM dataset_files WHERE dataset_id = ? AND path = ?`);
  client
    .transaction(() => {
      for (const path of diff.removed) remove.run(datasetId, path);
      for (const f of diff.dirty) upsert.run(datasetId, f.path, f.size, f.sha256, f.modified);
      const bytes = diff.files.reduce((sum, f) => sum + f.size, 0);
      client.prepare(`UPDATE datasets SET file_count = ?, byte_count = ?, manifest_at = ?, updated_at = ? WHERE id = ?`).run(diff.files.length, bytes, now, now, datasetId);
    })
    .immediate();
}

export function readManifest(client: Database.Database, datasetId: number): Map<string, ManifestFile> {
  const rows = client.prepare(`SELECT path, size, sha256, modified FROM dataset_files WHERE dataset_id = ?`).all(datasetId) as ManifestFile[];
  return new Map(rows.map((r) => [r.path, r]));
}
