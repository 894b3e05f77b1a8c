import type { Principal, SystemService, SystemStatus } from "@drover/protocol";
import type { JobsServiceImpl } from "./jobs.ts";
import type { QueuesServiceImpl } from "./queues.ts";
import type { WorkersServiceImpl } from "./workers.ts";

export class SystemServiceImpl implements SystemService {
  readonly startedAt = Date.now();
  constructor(
    readonly version: string,
    private readonly jobs: JobsServiceImpl,
    private readonly workers: WorkersServiceImpl,
    private readonly queues: QueuesServiceImpl,
  ) {}

  status(by: Principal): SystemStatus {
    const workers = this.workers.list(by);
    const queues = this.queues.list(by);
    return {
      version: this.version,
      startedAt: this.startedAt,
      counts: this.jobs.counts(by, {}),
      workers: { active: workers.filter((w) => w.status === "active").length, lost: workers.filter((w) => w.status === "lost").length },
      queues: { total: queues.length, paused: queues.filter((q) => q.paused).length },
      you: { tokenId: by.tokenId, role: by.role, user: by.user },
    };
  }
}
