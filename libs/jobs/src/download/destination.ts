// Where a download goes: `dest` is a folder (ends in "/", the name comes from the response)
// or names the object itself. Also the `uniqueName` rule: `name (1).ext`, `name (2).ext`, …
// This module loads @drover/storage, so the runner imports it only inside run().
import { StoragePool, type Storage } from "@drover/storage";
import { joinObjectUrl, splitObjectUrl } from "../crawl/object-url.ts";
import { permanent } from "./errors.ts";
import { numberedName } from "./file-name.ts";

/** Like browsers, which stop at 100: past that a folder is better served by distinct names. */
const MAX_SUFFIX = 1000;

/**
 * Storages opened by this process's downloads, by root URL: thousands of small downloads to
 * one bucket share one client. A storage closes once unused for 30 s.
 */
const pool = new StoragePool({ idleCloseMs: 30_000 });

export class Destination {
  private constructor(
    private readonly release: () => void,
    readonly storage: Storage,
    /** Storage URL of the folder. */
    readonly root: string,
    /** The object's key when `dest` named one; undefined for a folder. */
    readonly key: string | undefined,
  ) {}

  /** Opens the storage `dest` lives in; a `dest` that names no object is refused for good. */
  static async open(dest: string): Promise<Destination> {
    const { root, key } = parseDest(dest);
    const { storage, release } = pool.acquire(root);
    try {
      return new Destination(release, await storage, root, key);
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * `name` when it is free (or uniqueName is off), else the first free `name (n).ext`.
   * Two jobs racing for the same name can still both pick it: storage has no create-if-absent.
   */
  async chooseKey(name: string, uniqueName: boolean, signal: AbortSignal): Promise<string> {
    if (!uniqueName) return name;
    for (let n = 0; n <= MAX_SUFFIX; n++) {
      const key = n === 0 ? name : numberedName(name, n);
      if (!(await this.storage.exists(key, { signal }))) return key;
    }
    throw permanent("NO_UNIQUE_NAME", `'${name}' and ${MAX_SUFFIX} numbered variants of it already exist in the destination`);
  }

  /** The storage URL of `key`. URL forms carry percent-encoded keys (splitObjectUrl decodes them). */
  urlOf(key: string): string {
    return joinObjectUrl(this.root, this.root.includes("://") ? key.replace(/[%?#]/g, encodeURIComponent) : key);
  }

  /** Gives the storage back to the shared set (it closes there once idle). */
  close(): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}

/** The storage root to open and, unless `dest` is a folder, the object's key in it. */
function parseDest(dest: string): { root: string; key: string | undefined } {
  const q = dest.indexOf("?");
  if ((q < 0 ? dest : dest.slice(0, q)).endsWith("/")) return { root: dest, key: undefined };
  try {
    return splitObjectUrl(dest);
  } catch (error) {
    throw permanent("DEST_INVALID", `dest: ${(error as Error).message}; end it with "/" to name a folder`, error);
  }
}
