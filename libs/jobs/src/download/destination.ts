// Where a download goes: `dest` is a folder (ends in "/", the name comes from the response)
// or names the object itself. Also the `uniqueName` rule: `name (1).ext`, `name (2).ext`, …
// This module loads @drover/storage, so the runner imports it only inside run().
import { openStorage, type Storage } from "@drover/storage";
import { joinObjectUrl, splitObjectUrl } from "../crawl/object-url.ts";
import { permanent } from "./errors.ts";
import { numberedName } from "./file-name.ts";

/** Like browsers, which stop at 100: past that a folder is better served by distinct names. */
const MAX_SUFFIX = 1000;

/** How long an opened storage stays open after the last download using it ended. */
const IDLE_CLOSE_MS = 30_000;

/**
 * Storages opened by this process's downloads, by root URL. Opening one per download would
 * build an S3 or GCS client (credentials, connection pool) per file; thousands of small
 * downloads to one bucket share one. A storage closes once unused for IDLE_CLOSE_MS.
 */
const shared = new Map<string, { storage: Promise<Storage>; users: number; timer: NodeJS.Timeout | undefined }>();

function acquireStorage(root: string): { storage: Promise<Storage>; release: () => void } {
  let entry = shared.get(root);
  if (entry === undefined) {
    const storage = openStorage(root);
    entry = { storage, users: 0, timer: undefined };
    shared.set(root, entry);
    const opened = entry;
    // A failed open is not kept: the next download tries again.
    storage.catch(() => {
      if (shared.get(root) === opened) shared.delete(root);
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
        if (held.users > 0 || shared.get(root) !== held) return;
        shared.delete(root);
        void held.storage.then((s) => s.close()).catch(() => undefined);
      }, IDLE_CLOSE_MS);
      held.timer.unref();
    },
  };
}

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
    const { storage, release } = acquireStorage(root);
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
