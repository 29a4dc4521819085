import { randomBytes, randomUUID } from "node:crypto";
import { createLogger } from "@flowplane/core/log";
import { encodeRows, insertEncoded } from "@flowplane/query/client";
import { encodeNativeBlock, insertNative, validateNativeBlock } from "@flowplane/query/native-block";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import { agentL4Row } from "@flowplane/query/testing-fixtures";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchLedger, type TFlushRecord } from "../src/ingest/batch-ledger.ts";
import { DEFAULT_COALESCER_OPTIONS, IngestCoalescer } from "../src/ingest/coalescer.ts";
import { redisUrl } from "./harness.ts";

const log = createLogger("coalescer-test");

describe("ingest coalescer (Redis journal, ClickHouse)", () => {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const ledger = new BatchLedger(redis, { doneTtlS: 3600, pendingTtlS: 15 });
  let ch: TestClickhouse;
  beforeAll(async () => {
    ch = await createTestClickhouse("ctl_coalescer");
  });
  afterAll(async () => {
    await ch?.drop();
    await redis.quit();
  });

  const count = async (orgId: string) => {
    const rs = await ch.client.query({
      query: "SELECT count() AS n, uniqExact(flow_id) AS flows FROM l4_flow_log WHERE org_id = {org:UUID}",
      query_params: { org: orgId },
      format: "JSONEachRow",
    });
    return ((await rs.json()) as [{ n: string; flows: string }])[0];
  };
  const rows = (n: number, from: number) =>
    Array.from({ length: n }, (_, i) => agentL4Row({ flow_id: String(from + i) }));

  it("batches arriving while an insert runs share the next one; each gets its own outcome", async () => {
    const coalescer = new IngestCoalescer(ch.client, ledger, log, {
      ...DEFAULT_COALESCER_OPTIONS,
      ownsOrg: async () => false,
    });
    try {
      const orgId = randomUUID();
      const agentId = randomUUID();
      const batches = Array.from({ length: 6 }, (_, k) => ({
        batchId: randomUUID(),
        rows: rows(50, k * 100),
      }));
      batches[2]?.rows.push({ ...agentL4Row({ flow_id: "x" }) });
      for (const b of batches) await ledger.claim(orgId, b.batchId);
      const results = await Promise.all(
        batches.map((b) => coalescer.write("l4_flow_log", orgId, b.rows, { agentId, batchId: b.batchId })),
      );
      expect(results.map((r) => r.inserted)).toEqual([50, 50, 50, 50, 50, 50]);
      expect(results[2]?.rejected).toEqual([{ index: 50, error: expect.stringMatching(/^flow_id: /) }]);
      // All six arrived in one turn of the event loop: one insert.
      expect(coalescer.stats).toMatchObject({ inserts: 1, batches: 6 });
      expect(await count(orgId)).toEqual({ n: "300", flows: "300" });
      // The journal recorded every member's outcome in the ledger.
      expect(await ledger.claim(orgId, batches[2]?.batchId as string)).toEqual({
        kind: "done",
        outcome: { accepted: 50, rejected: results[2]?.rejected },
      });
    } finally {
      await coalescer.close();
    }
  });

  it("the journal holds the members' payloads byte for byte (large, empty, binary; key prefix)", async () => {
    // The payload goes to the socket part by part (SetPartsCommand): what a redo reads must be
    // their concatenation exactly, on a prefixed client too.
    const prefixed = new Redis(redisUrl, { maxRetriesPerRequest: 1, keyPrefix: "fp-test:" });
    const pledger = new BatchLedger(prefixed, { doneTtlS: 3600, pendingTtlS: 15 });
    try {
      for (const [client, l] of [
        [redis, ledger],
        [prefixed, pledger],
      ] as const) {
        const orgId = randomUUID();
        const batchIds = [randomUUID(), randomUUID(), randomUUID()];
        for (const b of batchIds) await l.claim(orgId, b);
        const parts = [randomBytes(1_500_000), Buffer.alloc(0), Buffer.from("a\tb\r\n\0\xff")];
        const id = randomUUID().replaceAll("-", "");
        const flush: TFlushRecord = {
          id,
          table: "l4_flow_log",
          token: `flush:${id}`,
          members: batchIds.map((batchId) => ({ orgId, batchId, outcome: { accepted: 1, rejected: [] } })),
        };
        // Commands before and after on the same connection still get their own replies.
        const [, , after] = await Promise.all([
          client.set(`probe:${id}`, "before"),
          l.beginFlush(flush, parts, 1),
          client.get(`probe:${id}`),
        ]);
        expect(after).toBe("before");
        expect(await l.claim(orgId, batchIds[1] as string)).toEqual({ kind: "in-progress" });
        expect(await client.ttl(`fp:ingest:flushdata:${id}`)).toBeGreaterThan(60);
        await new Promise((r) => setTimeout(r, 1_100));
        const orphan = await l.takeOrphanFlush(1, async (f) => f.id === id);
        expect(orphan?.flush).toEqual(flush);
        expect(orphan?.payload.equals(Buffer.concat(parts))).toBe(true);
        await l.endFlush(flush);
        await client.del(`probe:${id}`);
        expect(await l.claim(orgId, batchIds[0] as string)).toEqual({
          kind: "done",
          outcome: { accepted: 1, rejected: [] },
        });
      }
    } finally {
      await prefixed.quit();
    }
  });

  it("an insert that landed before its writer died is redone once by another process, outcomes recorded", async () => {
    const orgId = randomUUID();
    const members = [0, 1].map((k) => ({
      orgId,
      batchId: randomUUID(),
      encoded: encodeRows("l4_flow_log", orgId, rows(40, k * 100), { agentId: randomUUID() }),
    }));
    for (const m of members) await ledger.claim(orgId, m.batchId);
    const id = randomUUID().replaceAll("-", "");
    const flush: TFlushRecord = {
      id,
      table: "l4_flow_log",
      token: `flush:${id}`,
      members: members.map((m) => ({ orgId, batchId: m.batchId, outcome: { accepted: 40, rejected: [] } })),
    };
    const payload = Buffer.concat(members.map((m) => m.encoded.payload));
    // The dead writer: journaled, inserted, never recorded; its lease (1 s) lapses.
    await ledger.beginFlush(flush, payload, 1);
    await insertEncoded(ch.client, "l4_flow_log", payload, flush.token);
    expect(await ledger.claim(orgId, members[0]?.batchId as string)).toEqual({ kind: "in-progress" });

    const other = new IngestCoalescer(ch.client, ledger, log, {
      maxRows: 100_000,
      maxBytes: 32 << 20,
      minRows: 1,
      lingerMs: 0,
      leaseTtlS: 1,
      sweepEveryMs: 60_000,
      // Only this test's orphans: other test processes share the Redis.
      ownsOrg: async (id) => id === orgId,
    });
    try {
      expect(await other.recoverOrphans()).toBe(0); // the lease is still held
      await new Promise((r) => setTimeout(r, 1_200));
      expect(await other.recoverOrphans()).toBe(1);
    } finally {
      await other.close();
    }
    expect(await count(orgId)).toEqual({ n: "80", flows: "80" });
    for (const m of members)
      expect(await ledger.claim(orgId, m.batchId)).toEqual({
        kind: "done",
        outcome: { accepted: 40, rejected: [] },
      });
  });

  it("an insert journaled but never sent is written by the recovery", async () => {
    const orgId = randomUUID();
    const batchId = randomUUID();
    const encoded = encodeRows("l4_flow_log", orgId, rows(30, 0), { agentId: randomUUID() });
    await ledger.claim(orgId, batchId);
    const id = randomUUID().replaceAll("-", "");
    const flush: TFlushRecord = {
      id,
      table: "l4_flow_log",
      token: `flush:${id}`,
      members: [{ orgId, batchId, outcome: { accepted: 30, rejected: [] } }],
    };
    await ledger.beginFlush(flush, encoded.payload, 1);
    await new Promise((r) => setTimeout(r, 1_200));
    const other = new IngestCoalescer(ch.client, ledger, log, {
      maxRows: 100_000,
      maxBytes: 32 << 20,
      minRows: 1,
      lingerMs: 0,
      leaseTtlS: 1,
      sweepEveryMs: 60_000,
      // Only this test's orphans: other test processes share the Redis.
      ownsOrg: async (id) => id === orgId,
    });
    try {
      expect(await other.recoverOrphans()).toBe(1);
    } finally {
      await other.close();
    }
    expect(await count(orgId)).toEqual({ n: "30", flows: "30" });
    expect(await ledger.claim(orgId, batchId)).toMatchObject({ kind: "done" });
  });

  /** An agent's Native block of `rows`, checked and completed as ingest does (org and agent). */
  const nativeBlock = (orgId: string, agentId: string, list: Record<string, unknown>[]) => {
    const v = validateNativeBlock(encodeNativeBlock("l4_flow_log", list), {
      table: "l4_flow_log",
      orgId,
      agentId,
    });
    if (!v.ok) throw new Error(v.error);
    return v;
  };

  it("Native blocks share an insert per table and signature; another signature is another insert", async () => {
    const coalescer = new IngestCoalescer(ch.client, ledger, log, {
      ...DEFAULT_COALESCER_OPTIONS,
      ownsOrg: async () => false,
    });
    try {
      const orgId = randomUUID();
      const agentId = randomUUID();
      const batches = Array.from({ length: 5 }, (_, k) => ({
        batchId: randomUUID(),
        // Batches 3 and 4 carry a tag column too: a different signature.
        block: nativeBlock(
          orgId,
          agentId,
          rows(40, k * 100).map((r) => (k >= 3 ? { ...r, client_resource_id: 7 } : r)),
        ),
      }));
      expect(new Set(batches.map((b) => b.block.signature)).size).toBe(2);
      for (const b of batches) await ledger.claim(orgId, b.batchId);
      // TSV rows of the same table in the same turn: a third insert of their own.
      const tsvBatch = randomUUID();
      await ledger.claim(orgId, tsvBatch);
      const results = await Promise.all([
        ...batches.map((b) =>
          coalescer.writeNative("l4_flow_log", orgId, b.block, { agentId, batchId: b.batchId }),
        ),
        coalescer.write("l4_flow_log", orgId, rows(40, 900), { agentId, batchId: tsvBatch }),
      ]);
      expect(results.map((r) => r.inserted)).toEqual([40, 40, 40, 40, 40, 40]);
      expect(coalescer.stats).toMatchObject({ inserts: 3, batches: 6 });
      expect(await count(orgId)).toEqual({ n: "240", flows: "240" });
      for (const b of batches)
        expect(await ledger.claim(orgId, b.batchId)).toEqual({
          kind: "done",
          outcome: { accepted: 40, rejected: [] },
        });
    } finally {
      await coalescer.close();
    }
  });

  it("a Native insert that landed before its writer died is redone once from its journal; one never sent is written", async () => {
    const orgId = randomUUID();
    const agentId = randomUUID();
    const landed = [0, 1].map((k) => ({
      batchId: randomUUID(),
      block: nativeBlock(orgId, agentId, rows(25, k * 100)),
    }));
    const unsent = { batchId: randomUUID(), block: nativeBlock(orgId, agentId, rows(15, 500)) };
    for (const m of [...landed, unsent]) await ledger.claim(orgId, m.batchId);
    const record = (members: typeof landed): TFlushRecord => {
      const id = randomUUID().replaceAll("-", "");
      return {
        id,
        table: "l4_flow_log",
        token: `flush:${id}`,
        members: members.map((m) => ({
          orgId,
          batchId: m.batchId,
          outcome: { accepted: m.block.rows, rejected: [] },
        })),
        native: { columns: landed[0]?.block.columns ?? [] },
      };
    };
    const first = record(landed);
    const payload = landed.map((m) => m.block.payload);
    // The dead writer: journaled, inserted, never recorded. And a second one that died before sending.
    await ledger.beginFlush(first, payload, 1);
    await insertNative(ch.client, "l4_flow_log", first.native?.columns ?? [], payload, first.token);
    await ledger.beginFlush(record([unsent]), unsent.block.payload, 1);
    await new Promise((r) => setTimeout(r, 1_200));
    const other = new IngestCoalescer(ch.client, ledger, log, {
      ...DEFAULT_COALESCER_OPTIONS,
      leaseTtlS: 1,
      sweepEveryMs: 60_000,
      ownsOrg: async (id) => id === orgId,
    });
    try {
      expect(await other.recoverOrphans()).toBe(2);
    } finally {
      await other.close();
    }
    expect(await count(orgId)).toEqual({ n: "65", flows: "65" });
    for (const m of [...landed, unsent])
      expect(await ledger.claim(orgId, m.batchId)).toEqual({
        kind: "done",
        outcome: { accepted: m.block.rows, rejected: [] },
      });
  });
});
