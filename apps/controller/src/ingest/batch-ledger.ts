import type { Redis } from "ioredis";
import { countStoredRows } from "./observed-rates.ts";

export type TBatchOutcome = { accepted: number; rejected: { index: number; error: string }[] };

export type TClaim = { kind: "claimed" } | { kind: "in-progress" } | { kind: "done"; outcome: TBatchOutcome };

/**
 * Which batches were written, in Redis, so a replayed batch is answered without writing twice.
 * A batch is first claimed ("pending", short TTL: a crashed writer frees it), then marked done
 * with its outcome (long TTL: the replay window agents' spools must stay within). Keys are per
 * org, so no tenant can probe or block another's batch ids. Redis, not process memory: any
 * controller process behind the address may see the replay.
 */
export class BatchLedger {
  constructor(
    private readonly redis: Redis,
    private readonly opts: { doneTtlS: number; pendingTtlS: number },
  ) {}

  private key(orgId: string, batchId: string) {
    return `fp:ingest:batch:${orgId}:${batchId}`;
  }

  async claim(orgId: string, batchId: string): Promise<TClaim> {
    const key = this.key(orgId, batchId);
    const set = await this.redis.set(key, "pending", "EX", this.opts.pendingTtlS, "NX");
    if (set === "OK") return { kind: "claimed" };
    const value = await this.redis.get(key);
    if (value === null) {
      // Expired between the two calls: try once more rather than loop.
      const again = await this.redis.set(key, "pending", "EX", this.opts.pendingTtlS, "NX");
      return again === "OK" ? { kind: "claimed" } : { kind: "in-progress" };
    }
    if (value === "pending") return { kind: "in-progress" };
    return { kind: "done", outcome: JSON.parse(value) as TBatchOutcome };
  }

  async done(orgId: string, batchId: string, outcome: TBatchOutcome): Promise<void> {
    await this.redis.set(this.key(orgId, batchId), JSON.stringify(outcome), "EX", this.opts.doneTtlS);
  }

  /** Feeds the per-agent observed rate the data-node balancer uses. */
  countStored(agentId: string, rows: number): Promise<void> {
    return countStoredRows(this.redis, agentId, rows);
  }

  /**
   * Keeps a claim alive while its write runs, so the claim TTL can be short: a process that dies
   * mid-write frees its batches within one TTL instead of blocking the agents' replays for long.
   */
  keepAlive(orgId: string, batchId: string): () => void {
    const timer = setInterval(
      () => {
        this.redis.expire(this.key(orgId, batchId), this.opts.pendingTtlS).catch(() => {});
      },
      Math.max(1000, (this.opts.pendingTtlS * 1000) / 3),
    );
    return () => clearInterval(timer);
  }

  /** The write failed: let the agent's retry write the batch. */
  async release(orgId: string, batchId: string): Promise<void> {
    await this.redis.del(this.key(orgId, batchId));
  }
}
