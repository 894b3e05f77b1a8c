import type { Principal } from "./roles.ts";
import type {
  Job,
  JobCount,
  JobEvent,
  JobListOutput,
  JobLogLine,
  JobSubmitParsed,
  SubmitResult,
} from "./schemas/jobs.ts";
import type { HeartbeatOutput, LeaseRecord, LeaseRef, SettleOutput } from "./schemas/leases.ts";
import type { QueueInfo, QueueStats } from "./schemas/queues.ts";
import type { TokenCreated, TokenInfo } from "./schemas/tokens.ts";
import type { SystemStatus } from "./schemas/system.ts";
import type { CountersByType, HostInfo, LeaderboardRow, WorkerInfo } from "./schemas/workers.ts";
import type { Role } from "./schemas/common.ts";
import type { JobError } from "./schemas/jobs.ts";
import type {
  AttributeSetInput,
  Dataset,
  DatasetAddInput,
  DatasetFilesInput,
  DatasetFilesOutput,
  DatasetListInput,
  Item,
  ItemAddInput,
  ItemListInput,
  ItemListOutput,
  ManifestRefreshOutput,
  Project,
  ProjectAddInput,
} from "./schemas/datasets.ts";
import type {
  DatasetRun,
  DatasetRunInput,
  DatasetRunOutput,
  DatasetRunsInput,
  WorkflowFilesInput,
  WorkflowFinishInput,
  WorkflowFinishOutput,
  WorkflowStageInput,
  WorkflowStartInput,
  WorkflowStartOutput,
} from "./schemas/dataset-runs.ts";
import type { z } from "zod";

type Awaitable<T> = T | Promise<T>;

/**
 * The service interfaces the router calls. The coordinator implements them; the router
 * holds no logic beyond validation and permission checks, so services are testable
 * without HTTP.
 */
export interface JobsService {
  submit(by: Principal, job: JobSubmitParsed): Awaitable<SubmitResult>;
  submitBatch(by: Principal, jobs: JobSubmitParsed[]): Awaitable<SubmitResult[]>;
  get(by: Principal, id: number): Awaitable<Job>;
  list(by: Principal, q: { type?: string | undefined; queue?: string | undefined; status?: Job["status"] | undefined; limit: number; cursor?: number | undefined }): Awaitable<JobListOutput>;
  counts(by: Principal, q: { type?: string | undefined; queue?: string | undefined }): Awaitable<JobCount[]>;
  cancel(by: Principal, id: number): Awaitable<Job>;
  retry(by: Principal, id: number): Awaitable<Job>;
  events(by: Principal, id: number): Awaitable<JobEvent[]>;
  logs(by: Principal, id: number): Awaitable<JobLogLine[]>;
  /** Reserves `count` consecutive ids from a named sequence: [start, end), never handed out twice. */
  allocateIds(by: Principal, req: { sequence: string; count: number }): Awaitable<{ start: number; end: number }>;
}

export interface AcquireRequest {
  workerId: string;
  types: string[];
  /** Only these queues; omit for every queue of `types`. */
  queues?: string[] | undefined;
  max: number;
  waitMs: number;
}

/** Claim the next jobs in the same round trip as a settle. */
export interface ClaimNext {
  types: string[];
  queues?: string[] | undefined;
  max: number;
}

export interface CompleteRequest extends LeaseRef {
  result?: unknown;
  counts?: Record<string, number> | undefined;
  spawn?: JobSubmitParsed[] | undefined;
  logs?: string[] | undefined;
}

export interface LeasesService {
  acquire(by: Principal, req: AcquireRequest, signal?: AbortSignal): Promise<LeaseRecord[]>;
  heartbeat(by: Principal, req: { workerId: string; leases: { jobId: number; attempt: number; leaseId: string; progress?: { fraction: number; message?: string | undefined } | undefined; logs?: string[] | undefined }[] }): Awaitable<HeartbeatOutput>;
  complete(by: Principal, req: { workerId: string; leases: CompleteRequest[]; next?: ClaimNext | undefined }): Awaitable<SettleOutput>;
  fail(by: Principal, req: { workerId: string; leases: (LeaseRef & { error: JobError; retryable: boolean; requeueTo?: "parent" | undefined; counts?: Record<string, number> | undefined; logs?: string[] | undefined })[]; next?: ClaimNext | undefined }): Awaitable<SettleOutput>;
  release(by: Principal, req: { workerId: string; leases: LeaseRef[] }): Awaitable<{ released: number }>;
}

export interface QueuesService {
  list(by: Principal): Awaitable<QueueInfo[]>;
  pause(by: Principal, queue: string, seconds?: number): Awaitable<QueueInfo>;
  resume(by: Principal, queue: string): Awaitable<QueueInfo>;
  clear(by: Principal, queue: string): Awaitable<{ cancelled: number }>;
  stats(by: Principal, queue: string, user?: string): Awaitable<QueueStats>;
  setConcurrency(by: Principal, queue: string, limits: { concurrency?: number | null | undefined; groupConcurrency?: number | null | undefined }): Awaitable<QueueInfo>;
}

export interface WorkersService {
  register(by: Principal, req: { name: string; labels: Record<string, string>; types: string[]; concurrency: number; version: string; host: HostInfo; workerId?: string | undefined }): Awaitable<{ workerId: string }>;
  bye(by: Principal, workerId: string): Awaitable<{ released: number }>;
  list(by: Principal): Awaitable<WorkerInfo[]>;
  leaderboard(by: Principal, q: { type?: string | undefined; by: string; limit: number }): Awaitable<LeaderboardRow[]>;
  countersByType(by: Principal): Awaitable<CountersByType>;
}

export interface TokensService {
  create(by: Principal, req: { name: string; role: Role; user?: string | undefined }): Awaitable<TokenCreated>;
  list(by: Principal): Awaitable<TokenInfo[]>;
  revoke(by: Principal, id: string): Awaitable<TokenInfo>;
}

export interface SystemService {
  version: string;
  status(by: Principal): Awaitable<SystemStatus>;
}

/** Projects, datasets, items and attributes (django-crunch's model). */
export interface DatasetsService {
  addProject(by: Principal, req: z.output<typeof ProjectAddInput>): Awaitable<Project>;
  listProjects(by: Principal): Awaitable<Project[]>;
  getProject(by: Principal, slug: string): Awaitable<Project>;
  addDataset(by: Principal, req: z.output<typeof DatasetAddInput>): Awaitable<Dataset>;
  listDatasets(by: Principal, q: z.output<typeof DatasetListInput>): Awaitable<Dataset[]>;
  getDataset(by: Principal, slug: string): Awaitable<Dataset>;
  addItem(by: Principal, req: z.output<typeof ItemAddInput>): Awaitable<Item>;
  listItems(by: Principal, q: z.output<typeof ItemListInput>): Awaitable<ItemListOutput>;
  setAttribute(by: Principal, req: z.output<typeof AttributeSetInput>): Awaitable<Item>;
  files(by: Principal, q: z.output<typeof DatasetFilesInput>): Awaitable<DatasetFilesOutput>;
  refreshManifest(by: Principal, dataset: string, signal?: AbortSignal): Promise<ManifestRefreshOutput>;
  queueRuns(by: Principal, req: z.output<typeof DatasetRunInput>): Awaitable<DatasetRunOutput>;
  listRuns(by: Principal, req: z.output<typeof DatasetRunsInput>): Awaitable<DatasetRun[]>;
  workflowStart(by: Principal, req: z.output<typeof WorkflowStartInput>): Awaitable<WorkflowStartOutput>;
  workflowStage(by: Principal, req: z.output<typeof WorkflowStageInput>): Awaitable<{ ok: true }>;
  workflowFiles(by: Principal, req: z.output<typeof WorkflowFilesInput>): Awaitable<DatasetFilesOutput>;
  workflowFinish(by: Principal, req: z.output<typeof WorkflowFinishInput>, signal?: AbortSignal): Promise<WorkflowFinishOutput>;
}

export interface DroverServices {
  jobs: JobsService;
  leases: LeasesService;
  queues: QueuesService;
  workers: WorkersService;
  tokens: TokensService;
  system: SystemService;
  datasets: DatasetsService;
}

/** What every request carries into the router. */
export interface DroverContext {
  services: DroverServices;
  /** Null when the request had no valid token. */
  principal: Principal | null;
  /** Set when a bearer token was given but is unknown or revoked. */
  authError?: string | undefined;
}
