import { Command, type Redis } from "ioredis";
import { countStoredRows, queueStoredRows } from "./observed-rates.ts";
import { queueUsage } from "./usage.ts";

export type TBatchOutcome = { accepted: number; rejected: { index: number; error: string }[] };

export type TClaim = { kind: "claimed" } | { kind: "in-progress" } | { kind: "done"; outcome: TBatchOutcome };

/** A batch in a coalesced insert (see coalescer.ts). */
export type TFlushMember = { orgId: string; batchId: string; outcome: TBatchOutcome };
/** What a coalesced insert needs to be redone identically by any process: its journal entry. */
export type TFlushRecord = {
  id: string;
  table: string;
  token: string;
  members: TFlushMember[];
  /** A Native insert (`INSERT INTO table (columns) FORMAT Native`); absent: the table's TSV. */
  native?: { columns: string[] };
};

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

  /**
   * `done`, the agent's stored-rows counter (`countStored`) and, with `usage`, the org's usage
   * meter, in one pipeline: one write and one round trip per batch instead of three (each of the
   * three was its own await, two of them MULTI/EXEC). Not a transaction: the outcome is what must
   * land (its failure rejects, as `done`'s); the counters are best effort, and their failures
   * are returned for the caller to log rather than thrown.
   */
  async record(
    orgId: string,
    batchId: string,
    outcome: TBatchOutcome,
    counters: { agentId: string; usage?: { rows: number; bytes: number } | undefined },
  ): Promise<{ countersFailed?: Error }> {
    const p = this.redis.pipeline();
    p.set(this.key(orgId, batchId), JSON.stringify(outcome), "EX", this.opts.doneTtlS);
    queueStoredRows(p, counters.agentId, outcome.accepted);
    if (counters.usage) queueUsage(p, orgId, counters.usage);
    const results = await p.exec();
    if (!results) throw new Error("redis pipeline aborted");
    const [doneErr] = results[0] ?? [new Error("redis pipeline: no reply")];
    if (doneErr) throw doneErr;
    const failed = results.find(([err]) => err)?.[0];
    return failed ? { countersFailed: failed } : {};
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
   * Before a coalesced insert: its payload, then its record, each member batch pointing at it, and
   * the writer's lease (kept alive by `keepFlushLease`) in one script that refuses if the payload is
   * not there. Until `endFlush`, a replay of a member is answered 429; if the writer dies,
   * `takeOrphanFlush` hands the flush to another.
   */
  async beginFlush(
    flush: TFlushRecord,
    payload: Buffer | readonly Buffer[],
    leaseTtlS: number,
  ): Promise<void> {
    const dataKey = this.flushDataKey(flush.id);
    // The payload lives only `PAYLOAD_ALONE_TTL_S` until the script adopts it: a writer dying
    // between the two leaves no day-long value behind. Both go out back to back on the connection.
    const data = this.redis.sendCommand(
      new SetPartsCommand(
        dataKey,
        Buffer.isBuffer(payload) ? [payload] : payload,
        PAYLOAD_ALONE_TTL_S,
        this.redis.options.keyPrefix,
      ),
    );
    const keys = [this.flushLockKey(flush.id), this.flushKey(flush.id), dataKey, BatchLedger.FLUSHES];
    for (const b of flush.members) keys.push(this.key(b.orgId, b.batchId));
    const begin = this.redis.eval(
      BEGIN_FLUSH,
      keys.length,
      ...keys,
      leaseTtlS,
      JSON.stringify(flush),
      this.opts.doneTtlS,
      `${FLUSHING}${flush.id}`,
      flush.id,
    );
    const [set] = await Promise.allSettled([data, begin.catch(() => {})]);
    if (set.status === "rejected") throw set.reason;
    await begin;
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

/** How long a journaled payload lives before `BEGIN_FLUSH` gives it the journal's TTL. */
const PAYLOAD_ALONE_TTL_S = 60;

/**
 * KEYS: lease, record, payload, the set of flushes, then the members' ledger keys. ARGV: lease TTL,
 * record, journal TTL, the members' ledger value, flush id. One script instead of a transaction of
 * 4 + members commands: one reply to read, and nothing written if the payload is missing.
 */
const BEGIN_FLUSH = `
if redis.call("EXPIRE", KEYS[3], ARGV[3]) == 0 then
  return redis.error_reply("ERR the flush payload is missing")
end
redis.call("SET", KEYS[1], "1", "EX", ARGV[1])
redis.call("SET", KEYS[2], ARGV[2], "EX", ARGV[3])
for i = 5, #KEYS do redis.call("SET", KEYS[i], ARGV[4], "EX", ARGV[3]) end
redis.call("SADD", KEYS[4], ARGV[5])
return 1`;

/**
 * SET key <parts, one after the other> EX ttl, the parts written to the socket as they are.
 * ioredis copies a Buffer argument into a new Buffer holding the whole command (and a transaction
 * or pipeline copies all its commands once more into one), so a journaled insert payload of a few
 * MB cost two more allocations of its size outside the heap: the garbage collector's "external
 * memory" scavenges. The payload buffers must not change until the write is done; they are not
 * reused (each batch's payload is its own).
 */
class SetPartsCommand extends Command {
  constructor(
    key: string,
    private readonly parts: readonly Buffer[],
    private readonly ttlS: number,
    keyPrefix: string | undefined,
  ) {
    super("set", [key, "", "EX", String(ttlS)], {
      replyEncoding: "utf8",
      ...(keyPrefix ? { keyPrefix } : {}),
    });
  }

  override toWritable(socket: object): string | Buffer {
    const key = this.args[0] as string | Buffer;
    let total = 0;
    for (const p of this.parts) total += p.length;
    const keyBuf = typeof key === "string" ? Buffer.from(key) : key;
    const head = Buffer.concat([
      Buffer.from(`*5\r\n$3\r\nSET\r\n$${keyBuf.length}\r\n`),
      keyBuf,
      Buffer.from(`\r\n$${total}\r\n`),
    ]);
    const ttl = String(this.ttlS);
    const tail = `\r\n$2\r\nEX\r\n$${ttl.length}\r\n${ttl}\r\n`;
    const s = socket as Partial<NodeJS.WritableStream & { cork(): void; uncork(): void }>;
    if (typeof s.write !== "function" || typeof s.cork !== "function") {
      // Not a socket (a pipeline's collector): one Buffer, as ioredis would build it.
      return Buffer.concat([head, ...this.parts, Buffer.from(tail)]);
    }
    // ioredis writes what this returns right after; corked, the lot goes out in one writev.
    s.cork();
    s.write(head);
    for (const p of this.parts) if (p.length > 0) s.write(p);
    process.nextTick(() => s.uncork?.());
    return tail;
  }
}
