import type { ChainableCommander, Redis } from "ioredis";

/** Usage per org and UTC day, for the console (rows and bytes accepted, batches). Kept 40 days. */
export type TUsage = { rows: number; bytes: number; batches: number };

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const key = (day: string) => `fp:usage:${day}`;

export async function meterUsage(
  redis: Redis,
  orgId: string,
  usage: { rows: number; bytes: number },
  now = Date.now(),
): Promise<void> {
  await queueUsage(redis.multi(), orgId, usage, now).exec();
}

/** `meterUsage`'s commands, queued on a pipeline that sends them with others in one write. */
export function queueUsage<P extends ChainableCommander>(
  p: P,
  orgId: string,
  usage: { rows: number; bytes: number },
  now = Date.now(),
): P {
  const k = key(dayOf(now));
  p.hincrby(k, `${orgId}:rows`, usage.rows)
    .hincrby(k, `${orgId}:bytes`, usage.bytes)
    .hincrby(k, `${orgId}:batches`, 1)
    .expire(k, 40 * 86_400);
  return p;
}

/** One org's usage on `day` (YYYY-MM-DD, UTC). */
export async function readUsage(redis: Redis, orgId: string, day: string): Promise<TUsage> {
  const [rows, bytes, batches] = await redis.hmget(
    key(day),
    `${orgId}:rows`,
    `${orgId}:bytes`,
    `${orgId}:batches`,
  );
  return { rows: Number(rows ?? 0), bytes: Number(bytes ?? 0), batches: Number(batches ?? 0) };
}
