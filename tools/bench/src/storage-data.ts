// The files the storage benchmark moves: one big file and many small ones, random bytes
// (incompressible, no dedup anywhere), written once per bench process into a temp dir that
// is removed when the process exits. Every storage-* scenario shares them.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { mkdir, open, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Sizes } from "./config.ts";

export type ShapeName = "big" | "small";

/** One directory to transfer. */
export interface Shape {
  name: ShapeName;
  /** "1 × 200 MB", "2,000 × 50 KB" (decimal units, as throughput is reported). */
  label: string;
  /** The local source directory: the files sit directly in it. */
  dir: string;
  files: number;
  bytes: number;
}

export interface Dataset {
  /** Scratch space next to the data (destinations, server dirs of the local backend). */
  work: string;
  shapes: Shape[];
}

/** Files and bytes under a directory (recursively), to check a transfer moved everything. */
export interface TreeCount {
  files: number;
  bytes: number;
}

const CHUNK = 1 << 20;

function sizeLabel(bytes: number): string {
  if (bytes >= 1e6 && bytes % 1e6 === 0) return `${(bytes / 1e6).toLocaleString("en-US")} MB`;
  if (bytes >= 1e3 && bytes % 1e3 === 0) return `${(bytes / 1e3).toLocaleString("en-US")} KB`;
  return `${bytes.toLocaleString("en-US")} B`;
}

export function shapeLabel(files: number, bytesEach: number): string {
  return `${files.toLocaleString("en-US")} × ${sizeLabel(bytesEach)}`;
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const fh = await open(path, "w");
  try {
    for (let done = 0; done < bytes; ) {
      const n = Math.min(CHUNK, bytes - done);
      await fh.write(randomBytes(n));
      done += n;
    }
  } finally {
    await fh.close();
  }
}

async function makeDataset(s: Sizes["storage"]): Promise<Dataset> {
  const root = mkdtempSync(join(tmpdir(), "drover-bench-storage-"));
  process.once("exit", () => rmSync(root, { recursive: true, force: true }));
  const work = join(root, "work");
  mkdirSync(work);
  const big = join(root, "data", "big");
  const small = join(root, "data", "small");
  await mkdir(big, { recursive: true });
  await mkdir(small, { recursive: true });
  await writeRandomFile(join(big, "big.bin"), s.bigFileBytes);
  const width = String(s.smallFiles - 1).length;
  for (let i = 0; i < s.smallFiles; i++) await writeFile(join(small, `f${String(i).padStart(width, "0")}.bin`), randomBytes(s.smallFileBytes));
  return {
    work,
    shapes: [
      { name: "big", label: shapeLabel(1, s.bigFileBytes), dir: big, files: 1, bytes: s.bigFileBytes },
      { name: "small", label: shapeLabel(s.smallFiles, s.smallFileBytes), dir: small, files: s.smallFiles, bytes: s.smallFiles * s.smallFileBytes },
    ],
  };
}

let shared: { sizes: Sizes["storage"]; dataset: Promise<Dataset> } | undefined;

/** The dataset for these sizes, generated on first use and shared by later scenarios. */
export function storageDataset(s: Sizes["storage"]): Promise<Dataset> {
  if (shared?.sizes !== s) shared = { sizes: s, dataset: makeDataset(s) };
  return shared.dataset;
}

/** Files and bytes under `dir`; a missing directory counts as empty. */
export async function countTree(dir: string): Promise<TreeCount> {
  const total: TreeCount = { files: 0, bytes: 0 };
  const visit = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [];
      throw error;
    });
    for (const e of entries) {
      const path = join(d, e.name);
      if (e.isDirectory()) await visit(path);
      else if (e.isFile()) {
        total.files += 1;
        total.bytes += (await stat(path)).size;
      }
    }
  };
  await visit(dir);
  return total;
}
