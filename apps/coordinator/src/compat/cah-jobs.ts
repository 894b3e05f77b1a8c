// How Crawling@Home jobs map onto Drover jobs: HYBRID and CPU clients lease crawl.wat, GPU
// clients lease crawl.gpu (which a CPU client's markAsDone spawns); the `number` a client
// sees is the Drover job id.
import type Database from "better-sqlite3";
import type { JobSubmitParsed, LeaseRecord, Principal } from "@drover/protocol";
import { z } from "zod";
import type { CahWorkerType } from "./cah-input.ts";

/** Who the compatibility API acts as: the old clients carry no Drover token. */
export const CAH_PRINCIPAL: Principal = { tokenId: "compat:crawling-at-home", role: "worker", user: "crawling-at-home" };

export const WAT_TYPE = "crawl.wat";
export const GPU_TYPE = "crawl.gpu";

export function jobTypeOf(type: CahWorkerType): string {
  return type === "GPU" ? GPU_TYPE : WAT_TYPE;
}

/** What newJob answers, field for field as the old server did, plus `number`. */
export interface CahJobAnswer {
  url: string;
  /** A number; a decimal string past 2^53 (the client's np.int64 reads both). */
  start_id: number | string;
  end_id: number | string;
  shard: number;
  number: number;
}

/** The parts of a leased job's payload the API needs later (the CPU stage's follow-up). */
export interface CahJobFacts {
  /** Sample ids as the payload holds them (crawl.wat stores decimal strings). */
  startId: number | string;
  endId: number | string;
  /** The shard half; absent in a crawl.wat payload means the whole shard. */
  piece: number | undefined;
  /** crawl.wat: the shard's storage or http(s) URL. crawl.gpu: the CPU result's URL. */
  source: string;
}

// Loose: only the fields the old clients need; the job type's own spec checked the rest at submit.
const id = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,19}$/)]);
const piece = z.number().int().min(0).optional();
const watPayload = z.looseObject({ shard: z.string().min(1), startId: id, endId: id, piece });
const gpuPayload = z.looseObject({ url: z.string().min(1), startId: id, endId: id, piece });

/** An id as the old client wants it: a number where exact, else the decimal string. */
function wireId(value: number | string): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

export function isHttpUrl(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

/** Where the coordinator serves a crawl.wat job's shard whose URL is not http(s). */
export function shardPath(jobId: number): string {
  return `/api/shard/${jobId}`;
}

/** The facts of a leased job, or an error text when its payload is not one an old client can run. */
export function factsOf(lease: Pick<LeaseRecord, "type" | "payload">): CahJobFacts | string {
  if (lease.type === WAT_TYPE) {
    const p = watPayload.safeParse(lease.payload);
    if (!p.success) return `a ${WAT_TYPE} payload needs shard, startId and endId: ${p.error.issues.map((i) => i.path.join(".")).join(", ")}`;
    return { startId: p.data.startId, endId: p.data.endId, piece: p.data.piece, source: p.data.shard };
  }
  const p = gpuPayload.safeParse(lease.payload);
  if (!p.success) return `a ${GPU_TYPE} payload needs url, startId and endId: ${p.error.issues.map((i) => i.path.join(".")).join(", ")}`;
  return { startId: p.data.startId, endId: p.data.endId, piece: p.data.piece, source: p.data.url };
}

/** The newJob answer: a crawl.wat shard that is not http(s) is served by the coordinator. */
export function answerOf(jobId: number, type: string, facts: CahJobFacts, baseUrl: string): CahJobAnswer {
  const url = type === WAT_TYPE && !isHttpUrl(facts.source) ? `${baseUrl}${shardPath(jobId)}` : facts.source;
  return { url, start_id: wireId(facts.startId), end_id: wireId(facts.endId), shard: facts.piece ?? 0, number: jobId };
}

/** The GPU stage a CPU client's result becomes: spawned with the crawl.wat job's success. */
export function gpuFollowUp(facts: CahJobFacts, url: string): JobSubmitParsed {
  const payload = { url, startId: facts.startId, endId: facts.endId, ...(facts.piece === undefined ? {} : { piece: facts.piece }), shard: facts.source };
  return { type: GPU_TYPE, payload, priority: 0 };
}

/**
 * Splits a storage object URL into the storage URL of its folder and the key in it, the
 * query (backend options) kept on the folder: `s3://b/run/x.gz?region=r` → `s3://b/run/?region=r`
 * + `x.gz`. Undefined when the URL names no object.
 */
export function splitObjectUrl(url: string): { root: string; key: string } | undefined {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? "" : url.slice(q);
  const slash = path.lastIndexOf("/");
  const raw = path.slice(slash + 1);
  if (raw === "") return undefined;
  if (slash < 0) return { root: `./${query}`, key: raw };
  const afterScheme = path.indexOf("://");
  if (afterScheme >= 0 && slash < afterScheme + 3) return undefined; // "s3://bucket": a bucket, no key
  // URL forms carry percent-encoded keys (as crawl.wat reads them); plain paths are taken as written.
  let key = raw;
  try {
    if (afterScheme >= 0) key = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return { root: `${path.slice(0, slash + 1)}${query}`, key };
}

const OPEN = new Set(["queued", "leased"]);

/** isCompleted: which shard URLs have no open crawl.wat job left. */
export class CahShardIndex {
  private readonly byShard: Database.Statement;
  private readonly byId: Database.Statement;

  constructor(client: Database.Database) {
    this.byShard = client.prepare(
      `SELECT json_extract(payload, '$.shard') AS shard, status FROM jobs INDEXED BY jobs_type_status_idx
       WHERE type = '${WAT_TYPE}' AND json_extract(payload, '$.shard') IN (SELECT value FROM json_each(?))`,
    );
    this.byId = client.prepare(`SELECT id, status FROM jobs WHERE type = '${WAT_TYPE}' AND id IN (SELECT value FROM json_each(?))`);
  }

  /**
   * The addresses whose crawl.wat jobs are all closed (succeeded, failed, cancelled), or that
   * no job has. An address matches a job's `shard`, or is the coordinator's `/api/shard/<id>`.
   * A shard split in pieces has one job per piece: it is completed when every piece is.
   */
  completed(addresses: readonly string[]): string[] {
    const open = new Set<string>();
    for (const row of this.byShard.all(JSON.stringify(addresses)) as { shard: string; status: string }[]) {
      if (OPEN.has(row.status)) open.add(row.shard);
    }
    const idOf = new Map<string, number>();
    for (const address of addresses) {
      const m = /\/api\/shard\/(\d{1,15})\/?(?:[?#].*)?$/.exec(address);
      if (m) idOf.set(address, Number(m[1]));
    }
    if (idOf.size > 0) {
      const openIds = new Set(
        (this.byId.all(JSON.stringify([...new Set(idOf.values())])) as { id: number; status: string }[]).filter((r) => OPEN.has(r.status)).map((r) => r.id),
      );
      for (const [address, id] of idOf) if (openIds.has(id)) open.add(address);
    }
    return addresses.filter((a) => !open.has(a));
  }
}
