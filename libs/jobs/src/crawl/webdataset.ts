// WebDataset shards: plain tar files (00000.tar, 00001.tar, …) in which the files of one
// sample share a key and sit next to each other (`<key>.jpg`, `<key>.txt`, `<key>.json`).
// Only runners import this module.
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";

export interface SampleFile {
  /** Extension without the dot: "jpg", "txt", "json". */
  ext: string;
  data: Buffer;
}

interface OpenShard {
  name: string;
  pack: tar.Pack;
  done: Promise<void>;
  samples: number;
}

/**
 * Writes samples into rolling tar shards of `shardSize` samples each. add() calls must not
 * overlap (the caller serialises them): the files of one sample have to stay together.
 * Each add() resolves once its bytes are in the file stream's buffer, so memory stays
 * bounded by the stream's high-water mark, not by the shard.
 */
export class ShardWriter {
  private current: OpenShard | undefined;
  private readonly names: string[] = [];
  /** One mtime for every entry: shards of the same samples are byte-identical. */
  private readonly mtime: Date;

  constructor(
    private readonly dir: string,
    private readonly shardSize: number,
    mtime = new Date(),
  ) {
    this.mtime = new Date(Math.floor(mtime.getTime() / 1000) * 1000);
  }

  /** Shard file names written so far (complete only after close()). */
  get shards(): readonly string[] {
    return this.names;
  }

  async add(key: string, files: readonly SampleFile[]): Promise<void> {
    if (key === "" || key.includes("/") || key.includes(".")) throw new TypeError(`webdataset: bad sample key ${JSON.stringify(key)}`);
    if (this.current !== undefined && this.current.samples >= this.shardSize) await this.finish();
    const shard = (this.current ??= this.open());
    for (const file of files) {
      await new Promise<void>((resolve, reject) => {
        shard.pack.entry({ name: `${key}.${file.ext}`, size: file.data.byteLength, mtime: this.mtime, mode: 0o644 }, file.data, (error) => (error ? reject(error) : resolve()));
      });
    }
    shard.samples++;
  }

  /** Finishes the last shard; returns every shard's file name, in order. */
  async close(): Promise<readonly string[]> {
    await this.finish();
    return this.names;
  }

  /** Stops writing and closes the files; what was written is incomplete. */
  destroy(error: Error = new Error("shard writer destroyed")): void {
    this.current?.pack.destroy(error);
    this.current?.done.catch(() => undefined);
    this.current = undefined;
  }

  private open(): OpenShard {
    const name = `${String(this.names.length).padStart(5, "0")}.tar`;
    const pack = tar.pack();
    const done = pipeline(pack, createWriteStream(join(this.dir, name)));
    // Until finish() awaits it, a failed write must not become an unhandled rejection; the
    // entry callbacks report it to add() in the meantime.
    done.catch(() => undefined);
    this.names.push(name);
    return { name, pack, done, samples: 0 };
  }

  private async finish(): Promise<void> {
    const shard = this.current;
    if (shard === undefined) return;
    this.current = undefined;
    shard.pack.finalize();
    await shard.done;
  }
}
