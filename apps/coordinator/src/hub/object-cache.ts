/** Files up to this size may be kept in memory. */
export const CACHEABLE_BYTES = 256 * 1024;

/**
 * Small dataset files in memory, least recently used out first, keyed by storage location
 * and sha256. An entry is added only after its bytes were hashed and matched the manifest,
 * so what it serves always matches the ETag it is served with; a file rewritten in storage
 * gets a new sha256 at the next manifest refresh, hence a new key.
 */
export class ObjectCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  static key(storagePrefix: string, path: string, sha256: string): string {
    return `${sha256}\u0000${storagePrefix}\u0000${path}`;
  }

  get(key: string): Buffer | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, body: Buffer): void {
    if (body.length > CACHEABLE_BYTES || body.length > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.bytes -= old.length;
      this.entries.delete(key);
    }
    this.entries.set(key, body);
    this.bytes += body.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
