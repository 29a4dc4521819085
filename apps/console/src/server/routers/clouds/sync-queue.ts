import { envFields, parseEnv } from "@flowplane/core/env";
import {
  BULL_PREFIX,
  CLOUD_SYNC_NOW_JOB,
  CLOUD_SYNC_QUEUE,
  cloudSyncJobOptions,
  type TCloudSyncJobData,
} from "@flowplane/db/clouds";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";

// "Sync now" puts a job on the controller's cloud-sync queue, exactly as the controller's own
// `syncNow` does (apps/controller/src/clouds/jobs.ts): the queue, prefix, job name, data and
// options both take from `@flowplane/db/clouds`. Its worker runs every job of that queue whatever
// the name, with the same retries and the outcome recorded on the account (lastSyncAt /
// lastError), which the page polls.

/** How long "sync now" waits for Redis before answering that it is unreachable. */
const REDIS_WAIT_MS = 5_000;

type THeld = { queue: Queue<TCloudSyncJobData>; connection: Redis };
const holder = globalThis as unknown as { __flowplaneCloudSyncQueue?: THeld };

function open(redisUrl: string, prefix: string): THeld {
  // Not `maxRetriesPerRequest: null` (a worker's setting): a request should fail, not wait forever.
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  connection.on("error", () => {}); // reported by the add that fails; ioredis reconnects by itself
  return { queue: new Queue<TCloudSyncJobData>(CLOUD_SYNC_QUEUE, { connection, prefix }), connection };
}

/** The process-wide queue, opened on first use from REDIS_URL (the controller's Redis). */
function queue(): Queue<TCloudSyncJobData> {
  if (!holder.__flowplaneCloudSyncQueue) {
    const { REDIS_URL } = parseEnv(z.object({ REDIS_URL: envFields.redisUrl() }), process.env);
    holder.__flowplaneCloudSyncQueue = open(REDIS_URL, BULL_PREFIX);
  }
  return holder.__flowplaneCloudSyncQueue.queue;
}

/** Tests: a queue on their own prefix (undefined closes it and goes back to the default). */
export async function setCloudSyncQueueForTests(opts?: { redisUrl: string; prefix: string }): Promise<void> {
  const held = holder.__flowplaneCloudSyncQueue;
  holder.__flowplaneCloudSyncQueue = opts ? open(opts.redisUrl, opts.prefix) : undefined;
  if (held) {
    await held.queue.close();
    await held.connection.quit().catch(() => {});
  }
}

export class SyncQueueUnavailableError extends Error {
  override name = "SyncQueueUnavailableError";
}

/**
 * Queues one sync of the account now. A press while one is still waiting or running is folded
 * into it (deduplication id per account), so a double click does not sync twice.
 */
export async function enqueueSyncNow(orgId: string, accountId: string): Promise<{ jobId: string }> {
  const q = queue();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new SyncQueueUnavailableError("Redis did not answer")), REDIS_WAIT_MS);
  });
  try {
    const job = await Promise.race([
      q.add(
        CLOUD_SYNC_NOW_JOB,
        { orgId, accountId },
        { ...cloudSyncJobOptions(), deduplication: { id: `sync-now:${orgId}:${accountId}` } },
      ),
      timeout,
    ]);
    return { jobId: String(job.id) };
  } catch (err) {
    if (err instanceof SyncQueueUnavailableError) throw err;
    throw new SyncQueueUnavailableError((err as Error).message);
  } finally {
    clearTimeout(timer);
  }
}
