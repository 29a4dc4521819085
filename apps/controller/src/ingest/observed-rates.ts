import type { Redis } from "ioredis";

/**
 * Rows each agent got stored, per minute, in Redis (so every controller and data-node process
 * adds to the same counters): what the data-node balancer weighs agents by.
 */
const key = (minute: number) => `fp:ingest:rows:${minute}`;
const minuteOf = (ms: number) => Math.floor(ms / 60_000);

export async function countStoredRows(
  redis: Redis,
  agentId: string,
  rows: number,
  now = Date.now(),
): Promise<void> {
  if (rows <= 0) return;
  const k = key(minuteOf(now));
  await redis.multi().hincrby(k, agentId, rows).expire(k, 600).exec();
}

/** Rows per second of each agent over the last complete minute. */
export async function observedRowsPerSecond(redis: Redis, now = Date.now()): Promise<Map<string, number>> {
  const counts = await redis.hgetall(key(minuteOf(now) - 1));
  return new Map(Object.entries(counts).map(([agentId, n]) => [agentId, Number(n) / 60]));
}
