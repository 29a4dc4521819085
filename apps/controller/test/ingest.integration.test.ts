import { createClickhouse, recordRows } from "@flowplane/query/client";
import { createTestClickhouse } from "@flowplane/query/testing";
import { agentL4Row } from "@flowplane/query/testing-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TRowWriter } from "../src/ingest/ingest.ts";
import { bearer, enroll, seedTenant, startHarness, type THarness } from "./harness.ts";

/** A valid L4 row in wire form, timed now (TTL drops old rows), without owner columns. */

describe("POST /v1/ingest", () => {
  let h: THarness;
  let ch: Awaited<ReturnType<typeof createTestClickhouse>>;
  let client: ReturnType<typeof createClickhouse>;
  /** Lets a test hold writes in flight (real ClickHouse writes, released on demand). */
  let gate: Promise<void> | null = null;
  let writesEntered = 0;
  let storeBroken = false;
  let deadClient: ReturnType<typeof createClickhouse>;

  beforeAll(async () => {
    ch = await createTestClickhouse("ctl_ingest");
    client = ch.client;
    deadClient = createClickhouse({ url: "http://127.0.0.1:9", database: "nowhere" });
    const writeRows: TRowWriter = async (table, orgId, rows, opts) => {
      writesEntered += 1;
      if (gate) await gate;
      return recordRows(storeBroken ? deadClient : client, table, orgId, rows, opts);
    };
    h = await startHarness("ctl_ingest", {
      writeRows,
      options: { maxBatchBytes: 256 * 1024, maxBatchRows: 1000, maxInFlightBatches: 2 },
    });
  });
  afterAll(async () => {
    await h?.close();
    await deadClient?.close();
    await ch?.drop();
  });

  async function countRows(orgId: string): Promise<number> {
    const rs = await client.query({
      query: "SELECT count() AS n FROM l4_flow_log WHERE org_id = {org:UUID}",
      query_params: { org: orgId },
      format: "JSONEachRow",
    });
    const [row] = await rs.json<{ n: string }>();
    return Number(row?.n ?? 0);
  }

  const post = (credential: string, body: object) =>
    h.app.inject({ method: "POST", url: "/v1/ingest", headers: bearer(credential), payload: body });

  async function enrolledAgent() {
    const t = await seedTenant(h);
    return { ...t, agent: await enroll(h, t.token.token) };
  }

  it("writes rows for the agent's org only: another org's id is rejected and that org is unchanged", async () => {
    const a = await enrolledAgent();
    const b = await enrolledAgent();
    const seedB = await post(b.agent.credential, {
      batchId: crypto.randomUUID(),
      agentId: b.agent.agentId,
      table: "l4_flow_log",
      rows: [agentL4Row(), agentL4Row()],
    });
    expect(seedB.json()).toMatchObject({ accepted: 2, rejected: [] });
    const bBefore = await countRows(b.org.id);

    const res = await post(a.agent.credential, {
      batchId: crypto.randomUUID(),
      agentId: a.agent.agentId,
      table: "l4_flow_log",
      rows: [
        agentL4Row(),
        agentL4Row({ org_id: b.org.id }),
        agentL4Row({ org_id: a.org.id }),
        agentL4Row({ agent_id: b.agent.agentId }),
      ],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([1, 3]);
    expect(body.rejected[0].error).toMatch(/org_id/);
    expect(await countRows(a.org.id)).toBe(2);
    expect(await countRows(b.org.id)).toBe(bBefore);

    const stored = await client.query({
      query: "SELECT DISTINCT toString(agent_id) AS agent FROM l4_flow_log WHERE org_id = {org:UUID}",
      query_params: { org: a.org.id },
      format: "JSONEachRow",
    });
    expect(await stored.json()).toEqual([{ agent: a.agent.agentId }]);
  });

  it("a replayed batch is answered duplicate and not counted twice", async () => {
    const a = await enrolledAgent();
    const batch = {
      batchId: crypto.randomUUID(),
      agentId: a.agent.agentId,
      table: "l4_flow_log",
      rows: [agentL4Row(), agentL4Row(), agentL4Row()],
    };
    const first = await post(a.agent.credential, batch);
    expect(first.json()).toMatchObject({ accepted: 3, rejected: [] });
    expect(first.json().duplicate).toBeUndefined();
    const again = await post(a.agent.credential, batch);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ batchId: batch.batchId, accepted: 3, duplicate: true });
    expect(await countRows(a.org.id)).toBe(3);
  });

  it("keeps the valid rows of a batch and rejects malformed ones by index with the reason", async () => {
    const a = await enrolledAgent();
    const res = await post(a.agent.credential, {
      batchId: crypto.randomUUID(),
      agentId: a.agent.agentId,
      table: "l4_flow_log",
      rows: [
        agentL4Row(),
        agentL4Row({ client_port: 70_000 }),
        { nonsense: true },
        agentL4Row({ client_ip: "999.1.1.1" }),
        agentL4Row(),
        7,
      ],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([1, 2, 3, 5]);
    expect(body.rejected[3].error).toMatch(/expected an object/);
    expect(body.rejected[0].error).toMatch(/client_port/);
    expect(body.rejected[2].error).toMatch(/client_ip/);
    expect(await countRows(a.org.id)).toBe(2);
  });

  it("refuses an oversized batch with the limit in the reason", async () => {
    const a = await enrolledAgent();
    const tooManyRows = await post(a.agent.credential, {
      batchId: crypto.randomUUID(),
      agentId: a.agent.agentId,
      table: "l4_flow_log",
      rows: Array.from({ length: 1001 }, () => ({ x: 1 })),
    });
    expect(tooManyRows.statusCode).toBe(413);
    expect(tooManyRows.json().error).toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      message: expect.stringMatching(/1000 rows/),
    });

    const tooManyBytes = await post(a.agent.credential, {
      batchId: crypto.randomUUID(),
      agentId: a.agent.agentId,
      table: "l4_flow_log",
      rows: Array.from({ length: 400 }, () => agentL4Row({ padding: "x".repeat(1000) })),
    });
    expect(tooManyBytes.statusCode).toBe(413);
    expect(tooManyBytes.json().error.message).toMatch(/262144 bytes/);
    expect(await countRows(a.org.id)).toBe(0);
  });

  it("answers 429 with Retry-After when its in-flight batches are at the limit, and while the same batch is being written", async () => {
    const a = await enrolledAgent();
    let release!: () => void;
    gate = new Promise<void>((r) => {
      release = r;
    });
    const entered = writesEntered;
    const batch = (id = crypto.randomUUID()) => ({
      batchId: id,
      agentId: a.agent.agentId,
      table: "l4_flow_log",
      rows: [agentL4Row()],
    });
    const held = batch();
    const first = post(a.agent.credential, held);
    while (writesEntered < entered + 1) await new Promise((r) => setTimeout(r, 5));
    const sameBatch = await post(a.agent.credential, held);
    expect(sameBatch.statusCode).toBe(429);
    expect(sameBatch.json().error.message).toMatch(/being written/);

    const second = post(a.agent.credential, batch());
    while (writesEntered < entered + 2) await new Promise((r) => setTimeout(r, 5));
    const refused = await post(a.agent.credential, batch());
    expect(refused.statusCode).toBe(429);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(refused.json().error.code).toBe("TOO_MANY_REQUESTS");

    release();
    gate = null;
    expect((await first).statusCode).toBe(200);
    expect((await second).statusCode).toBe(200);
    expect(await countRows(a.org.id)).toBe(2);
    // Slots are released: the next batch goes through.
    expect((await post(a.agent.credential, batch())).statusCode).toBe(200);
  });

  it("a failed write frees the batch id so the agent's retry writes it once", async () => {
    const a = await enrolledAgent();
    const batch = {
      batchId: crypto.randomUUID(),
      agentId: a.agent.agentId,
      table: "l4_flow_log",
      rows: [agentL4Row(), agentL4Row()],
    };
    storeBroken = true;
    const failed = await post(a.agent.credential, batch);
    storeBroken = false;
    expect(failed.statusCode).toBe(503);
    expect(failed.headers["retry-after"]).toBeDefined();
    const retried = await post(a.agent.credential, batch);
    expect(retried.json()).toMatchObject({ accepted: 2 });
    expect(retried.json().duplicate).toBeUndefined();
    expect(await countRows(a.org.id)).toBe(2);
  });

  it("refuses a batch sent in another agent's name", async () => {
    const a = await enrolledAgent();
    const res = await post(a.agent.credential, {
      batchId: crypto.randomUUID(),
      agentId: crypto.randomUUID(),
      table: "l4_flow_log",
      rows: [agentL4Row()],
    });
    expect(res.statusCode).toBe(403);
  });
});
