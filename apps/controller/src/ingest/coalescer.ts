import { createHash } from "node:crypto";
import type { Logger } from "@flowplane/core/log";
import type { TIngestTable } from "@flowplane/protocol";
import { type ClickHouseClient, encodeRows, insertEncoded } from "@flowplane/query/client";
import { insertNative } from "@flowplane/query/native-block";
import type { BatchLedger, TFlushMember, TFlushRecord } from "./batch-ledger.ts";
import { batchesArriving, onAllArrived } from "./in-flight.ts";
import type { TEncodedWriter, TNativeWriter, TRowWriter } from "./ingest.ts";

export type TCoalescerOptions = {
  /** Most rows in one insert. */
  maxRows: number;
  /** Most payload bytes in one insert. */
  maxBytes: number;
  /**
   * An insert waits up to `lingerMs` for this many rows (an agent batch is often 1 000 rows), but
   * no longer than until every batch admitted by this process has reached a writer
   * (`batchesArriving`, in-flight.ts): past that, waiting adds latency and no rows. While an
   * insert of the queue runs, the next starts at once when this many rows wait. 30 000 rather than
   * 50 000: with 16 batches of 5 000 in flight, 50 000 rarely waited while one ran, so the store
   * ran one insert at a time; at 30 000 the ingest bench stored 13 % more rows/s (7 alternated
   * pairs, 6 better), at slightly more store CPU per row (smaller parts).
   */
  minRows: number;
  lingerMs: number;
  /**
   * Inserts of one queue sent and not yet answered (default `DEFAULT_MAX_OUTSTANDING`). Two let the
   * next insert be journaled and uploaded to the store while the one before runs there, so the
   * store does not sit idle for that time between inserts; the store may run both at once on its
   * lanes (store/engine.ts).
   */
  maxOutstanding?: number;
  /** A writer's lease on its journaled insert; another process redoes it once the lease lapses. */
  leaseTtlS: number;
  /** How often this process looks for inserts orphaned by a dead writer. */
  sweepEveryMs: number;
  /**
   * Whether an orphaned insert is this deployment's to redo (its orgs are in our Postgres): ingest
   * processes of other deployments (tests, benches) sharing the Redis write to other ClickHouse
   * databases. Default: every one.
   */
  ownsOrg?: (orgId: string) => Promise<boolean>;
};

const DEFAULT_MAX_OUTSTANDING = 2;

export const DEFAULT_COALESCER_OPTIONS: TCoalescerOptions = {
  maxRows: 100_000,
  maxBytes: 32 << 20,
  minRows: 30_000,
  lingerMs: 50,
  maxOutstanding: DEFAULT_MAX_OUTSTANDING,
  leaseTtlS: 5,
  sweepEveryMs: 1_000,
};

type TWaiting = {
  member: TFlushMember;
  payload: Buffer;
  rows: number;
  done: (err?: unknown) => void;
};
/**
 * One queue per insert shape: a table's TSV (the table's columns), or a table's Native blocks of one
 * signature (column names and types), which concatenate into one `FORMAT Native` insert.
 */
type TQueue = {
  table: TIngestTable;
  native: { columns: string[] } | undefined;
  waiting: TWaiting[];
  /** Rows in `waiting`. */
  rows: number;
  running: boolean;
  /** Inserts of this queue sent and not answered yet. */
  outstanding: Set<Promise<void>>;
  /** Ends the drain's wait early (a batch joined the queue). */
  wake?: (() => void) | undefined;
};

/**
 * Batches of many agents into few big inserts, per table: ClickHouse (and chDB most of all) pays
 * per insert (a part to write and later merge, views to run), so 1 000-row agent batches one insert
 * each cost about twice the engine time of the same rows in 20 000-row inserts. While one insert
 * of a table runs, batches arriving for it wait and go together in the next, and an insert waits
 * up to `lingerMs` (50 ms) for `minRows` rows, or less: only while a batch admitted by this
 * process is still on its way (being read, checked, encoded). The next insert is journaled and
 * sent while the one before still runs in the store (`maxOutstanding`), so the store goes from one
 * to the next without waiting for our journal write and upload. Each agent is answered only after
 * the insert holding its rows landed.
 *
 * Native batches (ingest-native.ts) queue by table and block signature and go as one
 * `INSERT INTO t (columns) FORMAT Native` of their blocks back to back.
 *
 * Exactly once: a coalesced insert is journaled in Redis (member batches, outcomes, the payload
 * bytes as they are, TSV or Native, and for Native the column list) before it runs and carries
 * `insert_deduplication_token` = a hash of its members. If the process dies mid-insert, the members' replays are answered 429 while any ingest process
 * that sees the writer's lease lapse redoes the very same insert (ClickHouse drops it if the first
 * one landed) and records the outcomes, after which replays are answered `duplicate`.
 */
export class IngestCoalescer {
  readonly #queues = new Map<string, TQueue>();
  readonly #sweep: NodeJS.Timeout;
  #sweeping: Promise<void> | undefined;
  #closed = false;
  readonly #foreign = new Set<string>();
  /** Inserts made and batches they held (tests and the bench read these). */
  readonly stats = { inserts: 0, batches: 0, recovered: 0 };

  constructor(
    private readonly client: ClickHouseClient,
    private readonly ledger: BatchLedger,
    private readonly log: Logger,
    private readonly opts: TCoalescerOptions = DEFAULT_COALESCER_OPTIONS,
  ) {
    this.#sweep = setInterval(() => {
      this.#sweeping ??= this.recoverOrphans()
        .then(() => undefined)
        .catch((err: unknown) => this.log.warn({ err }, "ingest: orphaned insert recovery failed"))
        .finally(() => {
          this.#sweeping = undefined;
        });
    }, opts.sweepEveryMs);
    this.#sweep.unref();
  }

  /** Rows validated and encoded already (compact batches, ingest-tsv.ts) into the next insert. */
  readonly writeEncoded: TEncodedWriter = async (table, orgId, encoded, opts = {}) => {
    const outcome = { accepted: encoded.rows, rejected: encoded.rejected };
    if (encoded.rows > 0) {
      if (opts.batchId === undefined || this.#closed) {
        await insertEncoded(this.client, table, encoded.payload, opts.dedupToken);
      } else {
        await this.#join(this.#queue(table, table, undefined), {
          member: { orgId, batchId: opts.batchId, outcome },
          payload: encoded.payload,
          rows: encoded.rows,
        });
      }
    }
    // The encoded rows' rejections are the caller's already: nothing is refused here.
    return { inserted: encoded.rows, rejected: [] };
  };

  /**
   * A validated Native block (ingest-native.ts) into the next insert of its table and signature:
   * blocks of one signature go back to back in one `FORMAT Native` insert, journaled as they are.
   */
  readonly writeNative: TNativeWriter = async (table, orgId, block, opts = {}) => {
    if (block.rows > 0) {
      if (opts.batchId === undefined || this.#closed) {
        await insertNative(this.client, table, block.columns, block.payload, opts.dedupToken);
      } else {
        const key = `${table}\n${block.signature}`;
        await this.#join(this.#queue(key, table, { columns: block.columns }), {
          member: { orgId, batchId: opts.batchId, outcome: { accepted: block.rows, rejected: [] } },
          payload: block.payload,
          rows: block.rows,
        });
      }
    }
    return { inserted: block.rows };
  };

  /** Queues one batch's payload and resolves once the insert holding it landed. */
  #join(q: TQueue, w: Omit<TWaiting, "done">): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      q.waiting.push({ ...w, done: (err) => (err === undefined ? resolve() : reject(err)) });
      q.rows += w.rows;
      if (!q.running) void this.#drain(q);
      else q.wake?.();
    });
  }

  /** The ingest writer: a batch with an id joins its table's next insert; others insert alone. */
  readonly write: TRowWriter & { writeEncoded: TEncodedWriter; writeNative: TNativeWriter } = Object.assign(
    async (...[table, orgId, rows, opts = {}]: Parameters<TRowWriter>) => {
      const encoded = encodeRows(
        table,
        orgId,
        rows,
        opts.agentId !== undefined ? { agentId: opts.agentId } : {},
      );
      const { inserted } = await this.writeEncoded(table, orgId, encoded, opts);
      return { inserted, rejected: encoded.rejected };
    },
    // Carried by the writer so ingest finds them behind wrappers (withTagging passes them through).
    { writeEncoded: this.writeEncoded, writeNative: this.writeNative },
  );

  #queue(key: string, table: TIngestTable, native: TQueue["native"]): TQueue {
    let q = this.#queues.get(key);
    if (!q) {
      q = { table, native, waiting: [], rows: 0, running: false, outstanding: new Set() };
      this.#queues.set(key, q);
    }
    return q;
  }

  async #drain(q: TQueue): Promise<void> {
    q.running = true;
    try {
      while (q.waiting.length > 0) {
        // A short wait for more rows: an agent is answered at most `lingerMs` later, and the engine
        // writes one part instead of several.
        const since = Date.now();
        await new Promise((r) => setImmediate(r));
        await this.#awaitMore(q, since);
        const take: TWaiting[] = [];
        let rows = 0;
        let bytes = 0;
        for (const w of q.waiting) {
          if (
            take.length > 0 &&
            (rows + w.rows > this.opts.maxRows || bytes + w.payload.length > this.opts.maxBytes)
          )
            break;
          take.push(w);
          rows += w.rows;
          bytes += w.payload.length;
        }
        q.waiting.splice(0, take.length);
        q.rows -= rows;
        const flushed = this.#flush(q, take)
          .catch((err: unknown) => this.log.error({ err, table: q.table }, "ingest: insert failed unsettled"))
          .finally(() => {
            q.outstanding.delete(flushed);
            q.wake?.();
          });
        q.outstanding.add(flushed);
        // The next insert forms (lingers, journals, uploads) while this one runs, up to the bound.
        while (q.outstanding.size >= Math.max(1, this.opts.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING))
          await Promise.race(q.outstanding);
      }
    } finally {
      q.running = false;
    }
  }

  /**
   * Until `minRows` rows wait, `lingerMs` passed since `since`, or no batch admitted by this process
   * is still on its way to a writer (then nothing more can join: flush at once). While an insert of
   * this queue is still running, only `minRows` cuts the next one early; otherwise it waits for that
   * insert to end: the store is busy meanwhile, and a bigger insert costs less per row (fewer
   * parts to write and merge). Woken by a batch joining the queue, by the last arrival and by an
   * insert of the queue ending, not by polling.
   */
  async #awaitMore(q: TQueue, since: number): Promise<void> {
    for (;;) {
      if (this.#closed || q.rows >= this.opts.minRows) return;
      const busy = q.outstanding.size > 0;
      const left = this.opts.lingerMs - (Date.now() - since);
      if (!busy && (left <= 0 || batchesArriving() === 0)) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          if (timer !== undefined) clearTimeout(timer);
          off();
          q.wake = undefined;
          resolve();
        };
        const timer = busy ? undefined : setTimeout(done, left);
        const off = onAllArrived(done);
        q.wake = done;
      });
    }
  }

  async #flush(q: TQueue, take: TWaiting[]): Promise<void> {
    const table = q.table;
    const members = take.map((t) => t.member);
    // From the members, so a group written again after a refused insert carries the same token.
    const id = createHash("sha256")
      .update(
        members
          .map((m) => `${m.orgId}/${m.batchId}`)
          .sort()
          .join(","),
      )
      .digest("hex")
      .slice(0, 32);
    const flush: TFlushRecord = {
      id,
      table,
      token: `flush:${id}`,
      members,
      ...(q.native ? { native: q.native } : {}),
    };
    // The members' payloads as they are: the journal and the insert both take them in order.
    const payload = take.map((t) => t.payload);
    const settle = (err?: unknown) => {
      for (const t of take) t.done(err);
    };
    try {
      await this.ledger.beginFlush(flush, payload, this.opts.leaseTtlS);
    } catch (err) {
      settle(err);
      return;
    }
    const stopLease = this.ledger.keepFlushLease(id, this.opts.leaseTtlS);
    try {
      await this.#insert(flush, payload);
    } catch (err) {
      stopLease();
      // Refused (not died): the members are retried by their agents, written anew.
      await this.ledger
        .abortFlush(flush)
        .catch((e: unknown) =>
          this.log.warn({ err: e, flush: id }, "ingest: could not free a refused insert"),
        );
      settle(err);
      return;
    }
    stopLease();
    this.stats.inserts++;
    this.stats.batches += take.length;
    // Stored. Should Redis fail here, the journal stays and a sweep records the outcomes (its redo
    // is dropped by the token); the agents are answered now either way.
    await this.ledger
      .endFlush(flush)
      .catch((err: unknown) =>
        this.log.warn({ err, flush: id }, "ingest: outcome of a stored insert not recorded yet"),
      );
    settle();
  }

  /** A journaled insert, first time or redo: the same statement and payload either way. */
  #insert(flush: TFlushRecord, payload: Buffer | readonly Buffer[]): Promise<void> {
    const table = flush.table as TIngestTable;
    return flush.native
      ? insertNative(this.client, table, flush.native.columns, payload, flush.token)
      : insertEncoded(this.client, table, payload, flush.token);
  }

  /** Redoes every insert whose writer died (its lease lapsed); returns how many. */
  async recoverOrphans(): Promise<number> {
    let n = 0;
    for (;;) {
      const orphan = await this.ledger.takeOrphanFlush(this.opts.leaseTtlS, async (f) => {
        if (this.#foreign.has(f.id)) return false;
        const orgId = f.members[0]?.orgId;
        const ours = !this.opts.ownsOrg || (orgId !== undefined && (await this.opts.ownsOrg(orgId)));
        // Asked once: another deployment's orphan waits for its own processes (or its TTL).
        if (!ours) this.#foreign.add(f.id);
        return ours;
      });
      if (!orphan) return n;
      const { flush, payload } = orphan;
      try {
        await this.#insert(flush, payload);
        await this.ledger.endFlush(flush);
      } catch (err) {
        await this.ledger.dropFlushLease(flush.id).catch(() => {});
        throw err;
      }
      this.stats.recovered++;
      n++;
      this.log.info(
        { flush: flush.id, table: flush.table, batches: flush.members.length },
        "ingest: redid an insert orphaned by a dead writer",
      );
    }
  }

  /** Stops the sweep and waits for queued batches to be written. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    await this.#sweeping;
    while (
      [...this.#queues.values()].some((q) => q.running || q.waiting.length > 0 || q.outstanding.size > 0)
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
