import type { Redis } from "ioredis";
import { countStoredRows } from "./observed-rates.ts";

export type TBatchOutcome = { accepted: number; rejected: { index: number; error: string }[] };

export type TClaim = { kind: "claimed" } | { kind: "in-progress" } | { kind: "done"; outcome: TBatchOutcome };

/** A batch in a coalesced insert (see coalescer.ts). */
export type TFlushMember = { orgId: string; batchId: string; outcome: TBatchOutcome };
/** What a coalesced insert needs to be redone identically by any process: its journal entry. */
export type TFlushRecord = { id: string; table: string; token: string; members: TFlushMember[] };

/** Ledger value of a batch whose rows are in coalesced insert `id`. */
const FLUSHING = "flush:";
/** Extends a claim only while it is "pending": a batch in a flush keeps the flush's long TTL. */
const EXPIRE_IF_PENDING = `if redis.call("GET", KEYS[1]) == "pending" then return redis.call("EXPIRE", KEYS[1], ARGV[1]) end return 0`;

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
    // A batch in a coalesced insert is answered once that insert (or its recovery) is done.
    if (value === "pending" || value.startsWith(FLUSHING)) return { kind: "in-progress" };
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
        this.redis
          .eval(EXPIRE_IF_PENDING, 1, this.key(orgId, batchId), this.opts.pendingTtlS)
          .catch(() => {});
      },
      Math.max(1000, (this.opts.pendingTtlS * 1000) / 3),
    );
    return () => clearInterval(timer);
  }

  /** The write failed: let the agent's retry write the batch. */
  async release(orgId: string, batchId: string): Promise<void> {
    await this.redis.del(this.key(orgId, batchId));
  }

  // ── Coalesced inserts: a journal in Redis so any process can redo one whose writer died ──

  private flushKey = (id: string) => `fp:ingest:flush:${id}`;
  private flushDataKey = (id: string) => `fp:ingest:flushdata:${id}`;
  private flushLockKey = (id: string) => `fp:ingest:flushlock:${id}`;
  private static readonly FLUSHES = "fp:ingest:flushes";

  /**
   * Before a coalesced insert: its record and payload, each member batch pointing at it, and the
   * writer's lease (kept alive by `keepFlushLease`), in one transaction. Until `endFlush`, a replay
   * of a member is answered 429; if the writer dies, `takeOrphanFlush` hands the flush to another.
   */
  async beginFlush(
    flush: TFlushRecord,
    payload: Buffer | readonly Buffer[],
    leaseTtlS: number,
  ): Promise<void> {
    const m = this.redis.multi();
    m.set(this.flushLockKey(flush.id), "1", "EX", leaseTtlS);
    m.set(this.flushKey(flush.id), JSON.stringify(flush), "EX", this.opts.doneTtlS);
    // The members' payloads one after the other (APPEND in the same transaction): one value, as a
    // single payload would be, without concatenating them here first.
    const parts = Buffer.isBuffer(payload) ? [payload] : payload;
    m.set(this.flushDataKey(flush.id), parts[0] ?? Buffer.alloc(0), "EX", this.opts.doneTtlS);
    for (let i = 1; i < parts.length; i++) m.append(this.flushDataKey(flush.id), parts[i] as Buffer);
    for (const b of flush.members)
      m.set(this.key(b.orgId, b.batchId), `${FLUSHING}${flush.id}`, "EX", this.opts.doneTtlS);
    m.sadd(BatchLedger.FLUSHES, flush.id);
    await execOrThrow(m);
  }

  keepFlushLease(id: string, leaseTtlS: number): () => void {
    const timer = setInterval(
      () => {
        this.redis.expire(this.flushLockKey(id), leaseTtlS).catch(() => {});
      },
      Math.max(500, (leaseTtlS * 1000) / 3),
    );
    return () => clearInterval(timer);
  }

  /** The insert landed: every member batch is done with its outcome; the journal entry goes. */
  async endFlush(flush: TFlushRecord): Promise<void> {
    const m = this.redis.multi();
    for (const b of flush.members)
      m.set(this.key(b.orgId, b.batchId), JSON.stringify(b.outcome), "EX", this.opts.doneTtlS);
    m.del(this.flushKey(flush.id), this.flushDataKey(flush.id), this.flushLockKey(flush.id));
    m.srem(BatchLedger.FLUSHES, flush.id);
    await execOrThrow(m);
  }

  /** ClickHouse refused the insert: the members are free to be retried (written anew). */
  async abortFlush(flush: TFlushRecord): Promise<void> {
    const m = this.redis.multi();
    for (const b of flush.members) m.del(this.key(b.orgId, b.batchId));
    m.del(this.flushKey(flush.id), this.flushDataKey(flush.id), this.flushLockKey(flush.id));
    m.srem(BatchLedger.FLUSHES, flush.id);
    await execOrThrow(m);
  }

  /**
   * A journaled flush whose writer's lease ran out (the process died mid-insert), now leased to
   * the caller, with its payload; undefined when there is none. Live writers hold their lease, so
   * only orphans are taken.
   */
  async takeOrphanFlush(
    leaseTtlS: number,
    ours: (flush: TFlushRecord) => Promise<boolean>,
  ): Promise<{ flush: TFlushRecord; payload: Buffer } | undefined> {
    for (const id of await this.redis.smembers(BatchLedger.FLUSHES)) {
      if ((await this.redis.exists(this.flushLockKey(id))) === 1) continue; // its writer lives
      const record = await this.redis.get(this.flushKey(id));
      if (record === null) {
        // Expired after a day unclaimed (or just ended): nothing left to redo.
        await this.redis.srem(BatchLedger.FLUSHES, id);
        continue;
      }
      const flush = JSON.parse(record) as TFlushRecord;
      if (!(await ours(flush))) continue;
      if ((await this.redis.set(this.flushLockKey(id), "1", "EX", leaseTtlS, "NX")) !== "OK") continue;
      const payload = await this.redis.getBuffer(this.flushDataKey(id));
      if (payload === null) {
        await this.dropFlushLease(id);
        continue;
      }
      return { flush, payload };
    }
    return undefined;
  }

  /** Gives a taken orphan back (its redo failed): the next sweep tries again. */
  async dropFlushLease(id: string): Promise<void> {
    await this.redis.del(this.flushLockKey(id));
  }
}

async function execOrThrow(m: ReturnType<Redis["multi"]>): Promise<void> {
  const results = await m.exec();
  const failed = results?.find(([err]) => err);
  if (!results) throw new Error("redis transaction aborted");
  if (failed?.[0]) throw failed[0];
}
