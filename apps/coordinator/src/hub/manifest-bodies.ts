import { createHash } from "node:crypto";

export interface ManifestBody {
  /** A strong validator of exactly these bytes. */
  etag: string;
  body: Buffer;
}

/**
 * Serialized manifests, by dataset and format, valid while the dataset's manifest version
 * (refresh time, file count, bytes) is unchanged: a client revalidating a 100,000-file
 * manifest costs a lookup, not a rebuild. The ETag hashes the body, so a refresh that
 * changed nothing keeps it.
 */
export class ManifestBodies {
  private readonly entries = new Map<string, { version: string; value: ManifestBody }>();

  constructor(private readonly maxEntries = 32) {}

  get(format: string, datasetId: number, version: string, build: () => string): ManifestBody {
    const key = `${format}:${datasetId}`;
    const hit = this.entries.get(key);
    if (hit && hit.version === version) {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const body = Buffer.from(build());
    const value = { etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`, body };
    this.entries.delete(key);
    this.entries.set(key, { version, value });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
}
