import type { ChainableCommander, Redis } from "ioredis";

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
  await queueStoredRows(redis.multi(), agentId, rows, now).exec();
}

/** `countStoredRows`'s commands, queued on a pipeline that sends them with others in one write. */
export function queueStoredRows<P extends ChainableCommander>(
  p: P,
  agentId: string,
  rows: number,
  now = Date.now(),
): P {
  if (rows <= 0) return p;
  const k = key(minuteOf(now));
  p.hincrby(k, agentId, rows).expire(k, 600);
  return p;
}

/** Rows per second of each agent over the last complete minute. */
export async function observedRowsPerSecond(redis: Redis, now = Date.now()): Promise<Map<string, number>> {
  const counts = await redis.hgetall(key(minuteOf(now) - 1));
  return new Map(Object.entries(counts).map(([agentId, n]) => [agentId, Number(n) / 60]));
}
