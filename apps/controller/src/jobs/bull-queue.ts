import { BULL_PREFIX } from "@flowplane/db/clouds";
import { Queue, type Worker } from "bullmq";
import type { Redis } from "ioredis";

/** Redis key prefix of the controller's BullMQ queues (shared with the console); tests pass their own. */
export const DEFAULT_BULL_PREFIX = BULL_PREFIX;

/**
 * A BullMQ queue on its own connection, and the second connection its worker must use (a worker
 * blocks on its connection). Both are duplicated from the controller's Redis with
 * `maxRetriesPerRequest: null`, which BullMQ requires. `close` stops the worker before the queue
 * and then drops both connections.
 */
export function openBullQueue<TData = unknown>(name: string, redis: Redis, prefix = DEFAULT_BULL_PREFIX) {
  const connection = redis.duplicate({ maxRetriesPerRequest: null });
  const workerConnection = redis.duplicate({ maxRetriesPerRequest: null });
  const queue = new Queue<TData>(name, { connection, prefix });
  return {
    queue,
    workerConnection,
    prefix,
    close: async (worker: Worker<TData>) => {
      await worker.close();
      await queue.close();
      await Promise.allSettled([connection.quit(), workerConnection.quit()]);
    },
  };
}
