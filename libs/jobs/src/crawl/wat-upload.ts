// Uploads crawl.wat's finished artifacts. Imported by the runner inside run(), with the rest
// of its I/O modules.
import { hashFile, openStorage } from "@drover/storage";
import { joinObjectUrl } from "./object-url.ts";
import type { WatArtifact } from "./wat.spec.ts";

export interface LocalArtifact {
  path: string;
  /** Key under outputRoot, e.g. `7/1/pairs.parquet`. */
  key: string;
  contentType: string;
}

/**
 * Uploads complete local files in order; each write is atomic and checked against the local
 * sha256. If any fails, deletes everything under `prefix` (this attempt's directory) so a
 * failed attempt leaves nothing behind, then rethrows.
 */
export async function uploadArtifacts(outputRoot: string, prefix: string, files: LocalArtifact[], signal: AbortSignal): Promise<WatArtifact[]> {
  const storage = await openStorage(outputRoot);
  try {
    const artifacts: WatArtifact[] = [];
    try {
      for (const file of files) {
        const { size, sha256 } = await hashFile(file.path, signal);
        await storage.write(file.key, { file: file.path }, { size, sha256, contentType: file.contentType, signal });
        artifacts.push({ url: joinObjectUrl(outputRoot, file.key), size, sha256 });
      }
    } catch (error) {
      await storage.deletePrefix(prefix).catch(() => {});
      throw error;
    }
    return artifacts;
  } finally {
    await storage.close();
  }
}
