import { openStorage } from "./open.ts";
import type { Storage } from "./types.ts";

export interface StoragePoolOptions {
  /** How long an opened storage stays open after its last user released it; default 30 s. */
  idleCloseMs?: number;
}

export interface PooledStorage {
  storage: Promise<Storage>;
  /** Call once when done; the storage closes after the pool's idle time without users. */
  release(): void;
}

/**
 * Opened storages shared by root URL. Opening one per request or per job would build an S3
 * or GCS client (credentials, connection pool) each time; thousands of small reads from
 * one bucket share one. A failed open is not kept, so the next acquire tries again.
 */
export class StoragePool {
  private readonly shared = new Map<string, { storage: Promise<Storage>; users: number; timer: NodeJS.Timeout | undefined }>();
  private readonly idleCloseMs: number;

  constructor(options: StoragePoolOptions = {}) {
    this.idleCloseMs = options.idleCloseMs ?? 30_000;
  }

  acquire(root: string): PooledStorage {
    let entry = this.shared.get(root);
    if (entry === undefined) {
      const storage = openStorage(root);
      const opened = (entry = { storage, users: 0, timer: undefined });
      this.shared.set(root, entry);
      storage.catch(() => {
        if (this.shared.get(root) === opened) this.shared.delete(root);
      });
    }
    const held = entry;
    clearTimeout(held.timer);
    held.users++;
    let released = false;
    return {
      storage: held.storage,
      release: () => {
        if (released) return;
        released = true;
        if (--held.users > 0) return;
        held.timer = setTimeout(() => {
          if (held.users > 0 || this.shared.get(root) !== held) return;
          this.shared.delete(root);
          void held.storage.then((s) => s.close()).catch(() => undefined);
        }, this.idleCloseMs);
        held.timer.unref();
      },
    };
  }

  /** Closes every storage now, in use or not (at shutdown). */
  async close(): Promise<void> {
    const all = [...this.shared.values()];
    this.shared.clear();
    for (const e of all) clearTimeout(e.timer);
    await Promise.all(all.map((e) => e.storage.then((s) => s.close()).catch(() => undefined)));
  }
}
