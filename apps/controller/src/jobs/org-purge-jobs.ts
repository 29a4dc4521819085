import type { Logger } from "@flowplane/core/log";
import type { Db } from "@flowplane/db/client";
import type { ClickHouseClient } from "@flowplane/query/client";
import { type Job, type Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { openBullQueue } from "./bull-queue.ts";
import { type TPurgeResult, unsafePurgeDeletedOrganizations } from "./purge-organizations.ts";

export const ORG_PURGE_QUEUE = "org-purge";
const PURGE = "purge-deleted-organizations";

export type TOrgPurgeJobs = {
  queue: Queue;
  worker: Worker<unknown, TPurgeResult>;
  close(): Promise<void>;
};

/**
 * The purge of deleted organizations on BullMQ, in its own queue: a purge may rewrite ClickHouse
 * parts for minutes and must not hold up the fleet queue's 10-second ticks. Every controller
 * process calls this; the scheduler is upserted under one fixed id and each tick's job is taken by
 * one worker, so an org is purged once however many controllers run.
 */
export async function startOrgPurgeJobs(opts: {
  db: Db;
  clickhouse: ClickHouseClient;
  /** BullMQ needs `maxRetriesPerRequest: null` on its connections; it duplicates this one. */
  connection: Redis;
  log: Logger;
  /** Default: every 15 minutes (the grace period is days). */
  everyMs?: number;
  /** Redis key prefix; tests use their own. */
  prefix?: string;
  clickhouseTables?: string[];
}): Promise<TOrgPurgeJobs> {
  const { queue, workerConnection, prefix, close } = openBullQueue(
    ORG_PURGE_QUEUE,
    opts.connection,
    opts.prefix,
  );
  await queue.upsertJobScheduler(
    PURGE,
    { every: opts.everyMs ?? 15 * 60_000 },
    { name: PURGE, opts: { removeOnComplete: 100, removeOnFail: 100 } },
  );
  // Ticks come every `everyMs` while one purge may run for minutes: one job at a time across all
  // workers, or two controllers would purge the same org at once.
  await queue.setGlobalConcurrency(1);
  const log = opts.log.child({ job: PURGE });
  const worker = new Worker<unknown, TPurgeResult>(
    ORG_PURGE_QUEUE,
    async (job: Job) => {
      if (job.name !== PURGE) return { purged: [], failed: [] };
      return unsafePurgeDeletedOrganizations({
        db: opts.db,
        clickhouse: opts.clickhouse,
        log,
        ...(opts.clickhouseTables ? { clickhouseTables: opts.clickhouseTables } : {}),
      });
    },
    // A purge waits on ClickHouse mutations: a long lock, renewed by BullMQ while the job runs.
    { connection: workerConnection, prefix, concurrency: 1, lockDuration: 120_000 },
  );
  worker.on("failed", (job, err) => opts.log.warn({ err, job: job?.name }, "org purge job failed"));
  return {
    queue,
    worker,
    close: () => close(worker),
  };
}
