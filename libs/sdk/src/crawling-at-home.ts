import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { hostname, cpus, totalmem, platform, arch } from "node:os";
import { dirname, resolve } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { createDroverClient, type DroverClient, type Lease } from "@drover/protocol";
import { openStorage, uploadDir, type OpenStorageOptions } from "@drover/storage";

/** No crawl job is open right now (the old client's ZeroJobError). */
export class NoJobError extends Error {
  override readonly name = "NoJobError";
}

export interface CrawlingAtHomeOptions {
  /** Shown on the leaderboard; workers of one volunteer share it. */
  nickname: string;
  /** The job type to lease. Default "crawl.wat". */
  type?: string;
  /** Options for the storage library (credentials come from each SDK's own chain). */
  storage?: OpenStorageOptions;
}

interface WatPayload {
  shard: string;
  startId: number | string;
  endId: number | string;
  piece?: number;
  outputRoot: string;
}

/**
 * The Crawling@Home client's verbs over Drover's typed client and storage library, for
 * people who write their own loop: init → newJob → downloadShard → log … → uploadData → bye.
 * While a job is held, its lease is heartbeated in the background at a third of its length,
 * so a slow script does not lose it; every report names the lease (job, attempt, lease id),
 * so a job that was lost meanwhile is refused rather than done twice.
 */
export class CrawlingAtHomeClient {
  /** The current job's fields, as the old client exposed them. */
  shard = "";
  startId = 0n;
  endId = 0n;
  piece: number | undefined;
  jobId: number | undefined;
  private lease: Lease | undefined;
  private outputRoot = "";
  private beat: NodeJS.Timeout | undefined;
  private lastProgress: string | undefined;

  private constructor(
    private readonly client: DroverClient,
    private readonly workerId: string,
    private readonly type: string,
    private readonly storageOptions: OpenStorageOptions | undefined,
  ) {}

  /** Registers a worker named after the nickname. */
  static async init(url: string, token: string, options: CrawlingAtHomeOptions): Promise<CrawlingAtHomeClient> {
    const type = options.type ?? "crawl.wat";
    const client = createDroverClient({ url, token });
    const { workerId } = await client.workers.register.mutate({
      name: options.nickname,
      types: [type],
      concurrency: 1,
      version: "sdk-0.1.0",
      labels: { client: "crawling-at-home-sdk" },
      host: { hostname: hostname(), platform: platform(), arch: arch(), cpus: cpus().length, memoryBytes: totalmem(), pid: process.pid, nodeVersion: process.version },
    });
    return new CrawlingAtHomeClient(client, workerId, type, options.storage);
  }

  /** Jobs open (queued) for this client's type. */
  async jobCount(): Promise<number> {
    const counts = await this.client.jobs.counts.query({ type: this.type });
    return counts.filter((c) => c.status === "queued").reduce((n, c) => n + c.count, 0);
  }

  /** Takes the next job (releasing the one held, if any). Throws NoJobError when none is open. */
  async newJob(): Promise<void> {
    await this.releaseHeld();
    const [lease] = await this.client.leases.acquire.mutate({ workerId: this.workerId, types: [this.type], max: 1 });
    if (lease === undefined) throw new NoJobError(`no ${this.type} job is open`);
    const payload = lease.payload as WatPayload;
    this.lease = lease;
    this.jobId = lease.jobId;
    this.shard = payload.shard;
    this.startId = BigInt(payload.startId);
    this.endId = BigInt(payload.endId);
    this.piece = payload.piece;
    this.outputRoot = payload.outputRoot;
    this.lastProgress = undefined;
    const every = Math.max(1000, (lease.leaseSeconds * 1000) / 3);
    this.beat = setInterval(() => void this.heartbeat().catch(() => undefined), every);
    this.beat.unref();
  }

  /** Downloads the shard (http(s) or any storage URL), gunzipping it, atomically to `path`. */
  async downloadShard(path = "./shard.wat"): Promise<string> {
    this.held();
    const target = resolve(path);
    const partial = `${target}.drover-partial`;
    await mkdir(dirname(target), { recursive: true });
    const reader = (await this.openShard()).getReader();
    try {
      // Gunzip gzip input (by its magic bytes); a plain WAT passes through unchanged.
      const first = await reader.read();
      const head = first.value ?? new Uint8Array(0);
      const gz = head[0] === 0x1f && head[1] === 0x8b;
      async function* chunks(): AsyncGenerator<Uint8Array> {
        if (head.byteLength > 0) yield head;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      }
      await pipeline(Readable.from(chunks()), gz ? createGunzip() : new PassThrough(), createWriteStream(partial));
      await rename(partial, target);
      return target;
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      await rm(partial, { force: true });
      throw error;
    }
  }

  /** Reports progress on the job (a message, as the old client's `log`). */
  async log(progress: string, fraction = 0): Promise<void> {
    this.held();
    this.lastProgress = progress;
    await this.heartbeat(fraction);
  }

  /**
   * Uploads the results under `<outputRoot>/<jobId>/<attempt>/` and completes the job,
   * reporting `pairs` for the leaderboard when given.
   */
  async uploadData(localDir: string, options: { pairs?: number } = {}): Promise<{ url: string; files: number }> {
    const lease = this.held();
    const url = `${this.outputRoot.replace(/\/+$/, "")}/${lease.jobId}/${lease.attempt}/`;
    const summary = await uploadDir(localDir, url, { storage: this.storageOptions });
    await this.client.leases.complete.mutate({
      workerId: this.workerId,
      leases: [{ jobId: lease.jobId, attempt: lease.attempt, leaseId: lease.leaseId, result: { uploaded: url, files: summary.files + summary.skipped }, ...(options.pairs !== undefined ? { counts: { pairs: options.pairs } } : {}) }],
    });
    this.clearJob();
    return { url, files: summary.files + summary.skipped };
  }

  /** Releases any held job and says goodbye. */
  async bye(): Promise<void> {
    await this.releaseHeld();
    await this.client.workers.bye.mutate({ workerId: this.workerId });
  }

  private held(): Lease {
    if (this.lease === undefined) throw new NoJobError("no job is held: call newJob() first");
    return this.lease;
  }

  private async heartbeat(fraction = 0): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) return;
    const out = await this.client.leases.heartbeat.mutate({
      workerId: this.workerId,
      leases: [{ jobId: lease.jobId, attempt: lease.attempt, leaseId: lease.leaseId, ...(this.lastProgress !== undefined ? { progress: { fraction, message: this.lastProgress.slice(0, 1000) } } : {}) }],
    });
    if (out.lost.length > 0 || out.cancelled.length > 0) this.clearJob();
  }

  private async openShard(): Promise<ReadableStream<Uint8Array>> {
    if (/^https?:\/\//i.test(this.shard)) {
      const res = await fetch(this.shard);
      if (!res.ok || res.body === null) throw new Error(`GET ${this.shard}: HTTP ${res.status}`);
      return res.body;
    }
    const slash = this.shard.lastIndexOf("/");
    const storage = await openStorage(this.shard.slice(0, slash + 1), this.storageOptions);
    return storage.readStream(this.shard.slice(slash + 1));
  }

  private async releaseHeld(): Promise<void> {
    const lease = this.lease;
    this.clearJob();
    if (lease !== undefined) {
      await this.client.leases.release.mutate({ workerId: this.workerId, leases: [{ jobId: lease.jobId, attempt: lease.attempt, leaseId: lease.leaseId }] });
    }
  }

  private clearJob(): void {
    if (this.beat !== undefined) clearInterval(this.beat);
    this.beat = undefined;
    this.lease = undefined;
    this.jobId = undefined;
  }
}
