// The Crawling@Home server API (client 1.5; /work/shared/COMPAT.md), mapped onto Drover's
// leases so an unmodified HYBRID, CPU or GPU client works against a Drover coordinator.
// Public routes (the old clients send no bearer token): they can only lease crawl jobs and
// report on the lease their own session holds. Every report uses that lease's exact ref, so
// the lease rules (fencing, repeats, stale leases) hold as for any Drover worker.
import { DroverError, type JobsService, type LeasesService, type WorkersService } from "@drover/protocol";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { CahError, describeError, DoneBody, IsCompletedBody, NewQuery, parseInput, ProgressBody, ShardParams, TokenBody, TypeQuery, type CahWorkerType } from "./cah-input.ts";
import { answerOf, CAH_PRINCIPAL as P, CahShardIndex, factsOf, gpuFollowUp, isHttpUrl, jobTypeOf, WAT_TYPE } from "./cah-jobs.ts";
import { CahSessions, type CahSession } from "./cah-sessions.ts";
import { sendShard } from "./cah-shard.ts";
import type Database from "better-sqlite3";

export interface CrawlingAtHomeOptions {
  jobs: JobsService;
  leases: LeasesService;
  workers: WorkersService;
  /** The coordinator's database, for isCompleted's lookup by shard URL. */
  db: Database.Database;
  /** What getUploadAddress and new's `upload_address` answer. */
  uploadAddress: string;
  /** How long a session without a job may stay unseen, in ms (one with a job: its lease). */
  idleMs: number;
}

const NO_JOB = "You do not have an open job.";
const LOST = "Your job is no longer yours: its lease expired or it was cancelled, and it went back to the queue.";

/** The Fastify plugin serving /api/*; registered only when `crawlCompat` is on. */
export function crawlingAtHomeRoutes(opts: CrawlingAtHomeOptions): FastifyPluginAsync {
  return async (app) => {
    const sessions = new CahSessions(opts.idleMs);
    const shards = new CahShardIndex(opts.db);
    const sweeper = setInterval(() => sessions.sweep(), Math.min(opts.idleMs, 30_000));
    sweeper.unref();
    app.addHook("onClose", async () => clearInterval(sweeper));

    // Plain-text errors with the statuses the old client maps; bad input is never a 500.
    app.setErrorHandler((error, request, reply) => {
      const { status, message } = describeError(error);
      if (status === 500) request.log.error({ err: error }, "Crawling@Home request failed");
      return text(reply, message, status);
    });

    const sessionOf = (token: string, type: CahWorkerType): CahSession => {
      const session = sessions.get(token, type);
      if (session === undefined) throw new CahError(404, "The server could not find this worker (unknown or timed-out token). Register again.");
      return session;
    };

    /** The session's lease, or 403: "already marked" after a completion, else no open job. */
    const leaseOf = (session: CahSession) => {
      if (session.lease === undefined) throw new CahError(403, session.lastDone === undefined ? NO_JOB : `${NO_JOB} Job ${session.lastDone} is already marked as completed.`);
      return session.lease;
    };

    /** Runs a settle call; a stale lease clears the session's job and answers 403. */
    const settle = async <T>(session: CahSession, call: () => T | Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (error) {
        if (error instanceof DroverError && error.code === "LEASE_CONFLICT") {
          sessions.setLease(session, undefined);
          throw new CahError(403, LOST);
        }
        throw error;
      }
    };

    app.get("/api/new", async (request, reply) => {
      const q = parseInput(NewQuery, request.query, "query");
      const { workerId } = await opts.workers.register(P, {
        name: q.nickname,
        labels: { compat: "crawling-at-home", "crawling-at-home.type": q.type },
        types: [jobTypeOf(q.type)],
        concurrency: 1,
        version: "crawling@home",
        host: { hostname: request.ip.slice(0, 255), platform: "crawling@home", arch: q.type.toLowerCase(), cpus: 0, memoryBytes: 0, pid: 0, nodeVersion: "" },
      });
      const session = sessions.create(q.type, q.nickname, workerId);
      return reply.send({ display_name: q.nickname, token: session.token, upload_address: opts.uploadAddress });
    });

    app.post("/api/validateWorker", async (request, reply) => {
      const b = parseInput(TokenBody, request.body, "body");
      return text(reply, sessions.get(b.token, b.type) === undefined ? "False" : "True");
    });

    app.get("/api/getUploadAddress", async (_request, reply) => text(reply, opts.uploadAddress));

    app.get("/api/jobCount", async (request, reply) => {
      const q = parseInput(TypeQuery, request.query, "query");
      const counts = await opts.jobs.counts(P, { type: jobTypeOf(q.type) });
      return text(reply, String(counts.filter((c) => c.status === "queued").reduce((n, c) => n + c.count, 0)));
    });

    app.post("/api/newJob", async (request, reply) => {
      const b = parseInput(TokenBody, request.body, "body");
      const session = sessionOf(b.token, b.type);
      sessions.touch(session);
      // The old server's rule: asking for a job gives back the one held.
      if (session.lease !== undefined) {
        const { jobId, attempt, leaseId } = session.lease;
        await opts.leases.release(P, { workerId: session.workerId, leases: [{ jobId, attempt, leaseId }] });
        sessions.setLease(session, undefined);
      }
      const types = [jobTypeOf(session.type)];
      // A job whose payload an old client cannot run fails for good; the next one is tried.
      for (let tries = 0; tries < 20; tries++) {
        const [lease] = await opts.leases.acquire(P, { workerId: session.workerId, types, max: 1, waitMs: 0 });
        if (lease === undefined) break;
        const ref = { jobId: lease.jobId, attempt: lease.attempt, leaseId: lease.leaseId };
        const facts = factsOf(lease);
        if (typeof facts === "string") {
          await opts.leases.fail(P, { workerId: session.workerId, leases: [{ ...ref, error: { message: facts, code: "CRAWLING_AT_HOME_PAYLOAD" }, retryable: false }] });
          continue;
        }
        sessions.setLease(session, { ...ref, leaseSeconds: lease.leaseSeconds, job: facts });
        return reply.send(answerOf(lease.jobId, lease.type, facts, `${request.protocol}://${request.host}`));
      }
      throw new CahError(403, "No jobs available.");
    });

    // HEAD declared, not derived: Fastify's derived HEAD route would report a length of 0.
    app.route({
      method: ["GET", "HEAD"],
      url: "/api/shard/:jobId",
      handler: async (request, reply) => {
        const { jobId } = parseInput(ShardParams, request.params, "path");
        const holder = sessions.holder(jobId);
        const job = holder === undefined ? undefined : await Promise.resolve().then(() => opts.jobs.get(P, jobId)).catch(() => undefined);
        // Only the shard of a crawl.wat job a compat session holds right now: not a file server.
        if (holder?.lease === undefined || job?.type !== WAT_TYPE || job.status !== "leased" || job.workerId !== holder.workerId || job.attempts !== holder.lease.attempt) {
          throw new CahError(404, `job ${jobId} is not a shard leased through this API`);
        }
        const source = holder.lease.job.source;
        if (isHttpUrl(source)) return reply.redirect(source);
        await sendShard(request, reply, source);
        return reply;
      },
    });

    app.post("/api/updateProgress", async (request, reply) => {
      const b = parseInput(ProgressBody, request.body, "body");
      const session = sessionOf(b.token, b.type);
      sessions.touch(session);
      if (session.lease !== undefined) {
        const { jobId, attempt, leaseId } = session.lease;
        const out = await opts.leases.heartbeat(P, {
          workerId: session.workerId,
          leases: [{ jobId, attempt, leaseId, progress: { fraction: 0, message: b.progress }, logs: [b.progress] }],
        });
        if (out.extended.length === 0) {
          sessions.setLease(session, undefined);
          throw new CahError(403, LOST);
        }
      }
      return text(reply, "success");
    });

    app.post("/api/markAsDone", async (request, reply) => {
      const b = parseInput(DoneBody, request.body, "body");
      const session = sessionOf(b.token, b.type);
      // HYBRID and GPU report a pair count; CPU reports where its result lies (the GPU stage's input).
      const url = session.type === "CPU" ? required(b.url, "url") : undefined;
      const count = session.type === "CPU" ? undefined : required(b.count, "count");
      sessions.touch(session);
      const lease = leaseOf(session);
      const { jobId, attempt, leaseId } = lease;
      const done = url !== undefined ? { jobId, attempt, leaseId, spawn: [gpuFollowUp(lease.job, url)] } : { jobId, attempt, leaseId, counts: { pairs: count ?? 0 } };
      await settle(session, () => opts.leases.complete(P, { workerId: session.workerId, leases: [done] }));
      sessions.setLease(session, undefined);
      session.lastDone = jobId;
      return text(reply, "success");
    });

    app.post("/api/gpuInvalidDownload", async (request, reply) => {
      const b = parseInput(TokenBody, request.body, "body");
      const session = sessionOf(b.token, b.type);
      if (session.type !== "GPU") throw new CahError(400, "type: only GPU workers report an invalid download");
      sessions.touch(session);
      const { jobId, attempt, leaseId } = leaseOf(session);
      const error = { message: "the GPU worker could not use the CPU stage's result (gpuInvalidDownload)", code: "INVALID_DOWNLOAD" };
      await settle(session, async () => {
        try {
          await opts.leases.fail(P, { workerId: session.workerId, leases: [{ jobId, attempt, leaseId, error, retryable: false, requeueTo: "parent" }] });
        } catch (err) {
          // A crawl.gpu job submitted by hand has no CPU job to send back to: it just fails.
          if (!(err instanceof DroverError && err.code === "INVALID_STATE")) throw err;
          await opts.leases.fail(P, { workerId: session.workerId, leases: [{ jobId, attempt, leaseId, error, retryable: false }] });
        }
      });
      sessions.setLease(session, undefined);
      return text(reply, "success");
    });

    app.post("/api/bye", async (request, reply) => {
      const b = parseInput(TokenBody, request.body, "body");
      const session = sessionOf(b.token, b.type);
      await opts.workers.bye(P, session.workerId); // releases its lease: the job is runnable at once
      sessions.drop(session);
      return text(reply, "success");
    });

    app.post("/api/isCompleted", async (request, reply) => {
      const b = parseInput(IsCompletedBody, request.body, "body");
      return reply.send(shards.completed(b.addresses));
    });
  };
}

function text(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.status(status).type("text/plain; charset=utf-8").send(body);
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new CahError(400, `${field}: missing`);
  return value;
}
