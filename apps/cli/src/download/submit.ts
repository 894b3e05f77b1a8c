import { builtinSpecs } from "@drover/jobs/specs";
import { describeZodError, type DroverClient, type JobSubmitInput } from "@drover/protocol";
import { createHash } from "node:crypto";
import type { ZodError } from "zod";
import { readUrlList, type ListedDownload } from "./url-list.ts";

export const DOWNLOAD_TYPE = "download.url";
/** Where `drover download` puts jobs unless told otherwise. */
export const DEFAULT_DOWNLOAD_QUEUE = "downloads";
/** Jobs per submitBatch call: each call is one transaction on the coordinator. */
const BATCH = 1000;

/** What every download of one `add` shares. */
export interface DownloadOptions {
  dest: string;
  queue: string;
  priority?: number | undefined;
  maxBytes?: number | undefined;
  size?: number | undefined;
  sha256?: string | undefined;
  uniqueName?: boolean | undefined;
  headers?: Record<string, string> | undefined;
  /** Derive each job's idempotency key from queue, URL and destination: adding the same list twice adds nothing new. */
  idempotent?: boolean | undefined;
}

/** The job for one URL, its payload checked against download.url's schema here so errors name the line. */
export function downloadJob(item: Omit<ListedDownload, "line">, o: DownloadOptions, where = ""): JobSubmitInput {
  const payload = {
    url: item.url,
    dest: item.dest ?? o.dest,
    ...((item.sha256 ?? o.sha256) ? { sha256: item.sha256 ?? o.sha256 } : {}),
    ...(o.size !== undefined ? { size: o.size } : {}),
    ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
    ...(o.uniqueName ? { uniqueName: true } : {}),
    ...(o.headers && Object.keys(o.headers).length ? { headers: o.headers } : {}),
  };
  const spec = builtinSpecs.find((s) => s.name === DOWNLOAD_TYPE);
  if (!spec) throw new Error(`job type ${DOWNLOAD_TYPE} is not built in`);
  const parsed = spec.payload.safeParse(payload);
  if (!parsed.success) throw new Error(`${where}${describeZodError(parsed.error as ZodError)}`);
  return {
    type: DOWNLOAD_TYPE,
    queue: o.queue,
    payload,
    ...(o.priority !== undefined ? { priority: o.priority } : {}),
    ...(o.idempotent ? { idempotencyKey: `download:${createHash("sha256").update(`${o.queue}\n${payload.url}\n${payload.dest}`).digest("hex").slice(0, 40)}` } : {}),
  };
}

export interface AddResult {
  submitted: number;
  deduplicated: number;
  firstId: number | null;
  lastId: number | null;
}

/**
 * Adds every URL of a list. The whole list is checked first (a bad line refuses the file
 * before anything is submitted), then sent in batches of 1000, each added whole or not at
 * all. `progress` hears the count of lines submitted so far and the total.
 */
export async function addDownloadList(client: DroverClient, file: string, o: DownloadOptions, progress?: (done: number, total: number) => void): Promise<AddResult> {
  const errors: string[] = [];
  let total = 0;
  for await (const item of readUrlList(file)) {
    total++;
    try {
      downloadJob(item, o, `line ${item.line}: `);
    } catch (error) {
      if (errors.length < 20) errors.push((error as Error).message);
      else if (errors.length === 20) errors.push("… (more lines with errors)");
    }
  }
  if (errors.length) throw new Error(`${file}: nothing submitted; fix these lines first:\n  ${errors.join("\n  ")}`);
  const result: AddResult = { submitted: 0, deduplicated: 0, firstId: null, lastId: null };
  let batch: JobSubmitInput[] = [];
  const send = async () => {
    if (batch.length === 0) return;
    const answers = await client.jobs.submitBatch.mutate({ jobs: batch });
    for (const a of answers) {
      if (a.deduplicated) result.deduplicated++;
      else result.submitted++;
      result.firstId ??= a.id;
      result.lastId = a.id;
    }
    batch = [];
    progress?.(result.submitted + result.deduplicated, total);
  };
  for await (const item of readUrlList(file)) {
    batch.push(downloadJob(item, o));
    if (batch.length >= BATCH) await send();
  }
  await send();
  return result;
}
