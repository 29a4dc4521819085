import type { Logger } from "@flowplane/core/log";
import {
  CLOUD_SYNC_NOW_JOB,
  CLOUD_SYNC_QUEUE,
  cloudSyncJobOptions,
  type TCloudSyncJobData,
} from "@flowplane/db/clouds";
import { type Job, type Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { openBullQueue } from "../jobs/bull-queue.ts";
import { syncCloudAccount, type TCloudSyncDeps } from "./sync.ts";

export const schedulerId = (orgId: string, accountId: string) => `cloud-sync:${orgId}:${accountId}`;

type TJobData = TCloudSyncJobData;

export type TCloudJobs = {
  queue: Queue<TJobData>;
  worker: Worker<TJobData>;
  /** Schedules (or reschedules) one source's sync every `everyMs`, with retries. */
  schedule(orgId: string, accountId: string, everyMs?: number): Promise<void>;
  unschedule(orgId: string, accountId: string): Promise<void>;
  /** Queues one sync of the account at once (same retries as the schedule); does not wait for it. */
  syncNow(orgId: string, accountId: string): Promise<Job<TJobData>>;
  close(): Promise<void>;
};

/**
 * One BullMQ job scheduler per source (account): `upsertJobScheduler` under a fixed id, so every
 * controller process asking for it makes one schedule. A failed attempt is retried with
 * exponential backoff; each attempt's error is stored on the account (`lastError`), which is what
 * `listCloudAccounts` shows.
 */
export async function startCloudJobs(
  deps: TCloudSyncDeps & {
    connection: Redis;
    log: Logger;
    prefix?: string;
    attempts?: number;
    backoffMs?: number;
  },
): Promise<TCloudJobs> {
  const { queue, workerConnection, prefix, close } = openBullQueue<TJobData>(
    CLOUD_SYNC_QUEUE,
    deps.connection,
    deps.prefix,
  );
  const jobOpts = cloudSyncJobOptions({ attempts: deps.attempts, backoffMs: deps.backoffMs });
  const worker = new Worker<TJobData>(
    CLOUD_SYNC_QUEUE,
    async (job) => {
      const r = await syncCloudAccount(deps, job.data.orgId, job.data.accountId);
      return r;
    },
    { connection: workerConnection, prefix, concurrency: 2 },
  );
  worker.on("failed", (job, err) =>
    deps.log.warn({ job: job?.id, attempts: job?.attemptsMade, error: err.message }, "cloud sync job failed"),
  );
  return {
    queue,
    worker,
    schedule: async (orgId, accountId, everyMs = 5 * 60_000) => {
      await queue.upsertJobScheduler(
        schedulerId(orgId, accountId),
        { every: everyMs },
        { name: "sync", data: { orgId, accountId }, opts: jobOpts },
      );
    },
    unschedule: async (orgId, accountId) => {
      await queue.removeJobScheduler(schedulerId(orgId, accountId));
    },
    syncNow: async (orgId, accountId) => queue.add(CLOUD_SYNC_NOW_JOB, { orgId, accountId }, jobOpts),
    close: () => close(worker),
  };
}
