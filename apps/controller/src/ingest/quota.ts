import type { Redis } from "ioredis";

/**
 * Per-org rows-per-second quota, counted in Redis one-second windows so every ingest process of
 * the deployment shares it. A batch that would pass the limit is refused whole (429, retry next
 * second) and its rows are given back; the first batch of a window always passes, so a batch
 * larger than the limit is slowed to one per second rather than refused forever.
 */
export class OrgRowQuota {
  constructor(
    private readonly redis: Redis,
    readonly rowsPerS: number,
  ) {}

  async take(
    orgId: string,
    rows: number,
    now = Date.now(),
  ): Promise<{ ok: true } | { ok: false; retryAfterS: number }> {
    if (this.rowsPerS <= 0 || rows <= 0) return { ok: true };
    const second = Math.floor(now / 1000);
    const key = `fp:quota:rows:${orgId}:${second}`;
    // A pipeline, not MULTI/EXEC: two commands on one connection are applied in order anyway.
    const [[err, used]] = (await this.redis.pipeline().incrby(key, rows).expire(key, 3).exec()) as [
      [Error | null, number],
    ];
    if (err) throw err;
    if (used > this.rowsPerS && used - rows > 0) {
      await this.redis.decrby(key, rows);
      return { ok: false, retryAfterS: 1 };
    }
    return { ok: true };
  }
}
