// The record loop of crawl.wat: metadata records in, numbered pairs out, statistics kept.
//
// Rules that must hold:
// - Every record of the file is read and its pairs enter the duplicate check, whatever the
//   piece: a pair belongs to the piece of the record where it first appears, so pieces 0 and 1
//   are disjoint and together give exactly the whole shard's pairs.
// - Sample ids count up from startId without gaps, in file order, and never reach endId.
//   Once the range is full the loop keeps counting (without writing) so the error can say how
//   many ids the piece needed.
import type { Pair, PairsWriter } from "./pairs-parquet.ts";
import { Deduper, DROP_REASONS, extractPage, type DropReason, type PairFilter } from "./pairs.ts";
import type { DetectLanguage } from "./language.ts";
import type { WatRecord } from "./wat-parse.ts";

export interface ScanStats {
  /** Metadata records in the piece (the whole file without a piece). */
  pieceRecords: number;
  /** Of those, records with HTML-Metadata. */
  pages: number;
  /** HTML-Metadata.Links entries of those pages. */
  links: number;
  /** `IMG@/src` links among them. */
  images: number;
  /** Pairs written. */
  kept: number;
  /** Pairs the id range had no room for (the job fails when > 0). */
  overflow: number;
  /** Candidates already seen earlier in the file (in either piece). */
  duplicates: number;
  dropped: Record<DropReason, number>;
  /** Kept pairs with a licence URL. */
  licensed: number;
  /** Kept pairs per detected language; `und` when the detector was unsure. */
  languages: Record<string, number>;
}

export interface ScanOptions {
  piece: 0 | 1 | undefined;
  filter: PairFilter;
  detect: DetectLanguage | undefined;
  startId: bigint;
  /** endId - startId: how many ids the range holds. */
  capacity: bigint;
  writer: PairsWriter;
  /** Called after every record (progress reporting). */
  onRecord?: () => void;
}

export function emptyScanStats(): ScanStats {
  return {
    pieceRecords: 0,
    pages: 0,
    links: 0,
    images: 0,
    kept: 0,
    overflow: 0,
    duplicates: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
    licensed: 0,
    languages: {},
  };
}

export async function scanRecords(records: AsyncIterable<WatRecord>, options: ScanOptions, stats: ScanStats): Promise<void> {
  const dedup = new Deduper();
  // The capacity as a number, so the check per pair needs no BigInt (a range beyond 2^53 ids never fills).
  const capacity = options.capacity > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(options.capacity);
  for await (const record of records) {
    const mine = options.piece === undefined || record.index % 2 === options.piece;
    if (mine) stats.pieceRecords++;
    if (record.html !== undefined) {
      // Extracted for every record, ours or not: the duplicate check spans the whole file.
      const page = extractPage(record.html, record.targetUri, options.filter);
      if (mine) {
        stats.pages++;
        stats.links += page.links;
        stats.images += page.images;
        for (const reason of DROP_REASONS) stats.dropped[reason] += page.dropped[reason];
      }
      for (const candidate of page.candidates) {
        if (!dedup.firstTime(candidate)) {
          if (mine) stats.duplicates++;
          continue;
        }
        if (!mine) continue;
        if (stats.kept >= capacity) {
          stats.overflow++;
          continue;
        }
        const language = options.detect?.(candidate.alt);
        const pair: Pair = { sampleId: options.startId + BigInt(stats.kept), url: candidate.url, alt: candidate.alt, pageUrl: record.targetUri };
        if (page.license !== undefined) pair.license = page.license;
        if (language !== undefined) pair.language = language;
        await options.writer.write(pair);
        stats.kept++;
        if (page.license !== undefined) stats.licensed++;
        const lang = language ?? "und";
        stats.languages[lang] = (stats.languages[lang] ?? 0) + 1;
      }
    }
    options.onRecord?.();
  }
}
