// Public surface of @drover/protocol, chosen by hand.
export { appRouter, type AppRouter } from "./router/index.ts";
export { createDroverClient, droverErrorCode, isTransientClientError, type DroverClient, type DroverClientOptions } from "./client.ts";
export { DroverError, ERROR_CODES, ERROR_DOCS, TRPC_CODE_OF, isDroverErrorCode, type DroverErrorCode } from "./errors.ts";
export { PERMISSIONS, roleAllows, type Permission, type Principal } from "./roles.ts";
export { describeZodError } from "./trpc.ts";
export type {
  AcquireRequest,
  ClaimNext,
  CompleteRequest,
  DatasetsService,
  DroverContext,
  DroverServices,
  JobsService,
  LeasesService,
  QueuesService,
  SystemService,
  TokensService,
  WorkersService,
} from "./services.ts";
export { EpochMs, JOB_STATUSES, JobStatus, MAX_JSON_BYTES, Name, ROLES, Role } from "./schemas/common.ts";
export {
  AllocateIdsInput,
  Job,
  JobCount,
  JobError,
  JobEvent,
  JobListInput,
  JobListOutput,
  JobLogLine,
  JobSubmitInput,
  MAX_BATCH,
  SubmitResult,
  type JobSubmitParsed,
} from "./schemas/jobs.ts";
export {
  AcquireInput,
  CompleteInput,
  FailInput,
  HeartbeatInput,
  HeartbeatOutput,
  Lease,
  LeaseRef,
  type LeaseRecord,
  Counts,
  MAX_CLAIM,
  MAX_SPAWN,
  MAX_WAIT_MS,
  SettleOutcome,
  SettleOutput,
} from "./schemas/leases.ts";
export { QueueInfo, QueueStats, StatsWindow } from "./schemas/queues.ts";
export { TokenCreated, TokenInfo } from "./schemas/tokens.ts";
export { CountersByType, HostInfo, LeaderboardInput, LeaderboardRow, RegisterInput, WorkerInfo } from "./schemas/workers.ts";
export { SystemStatus } from "./schemas/system.ts";
export { ATTRIBUTE_TYPES, AttributeType, formatAttributeValue, inferAttributeType, parseAttributeValue, type AttributeValue } from "./attributes.ts";
export {
  DATASET_WORKFLOW_TYPE,
  DatasetRun,
  DatasetRunOutput,
  Diagnostics,
  RunStage,
  RunState,
  StageRecord,
  StageState,
  WorkflowFinishOutput,
  WorkflowStartOutput,
  projectQueue,
} from "./schemas/dataset-runs.ts";
export { Dataset, DatasetFile, DatasetFilesOutput, DatasetStatus, Item, ItemListOutput, ManifestRefreshOutput, Project, Visibility } from "./schemas/datasets.ts";
