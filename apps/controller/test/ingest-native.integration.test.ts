import {
  DEFAULT_MAX_BATCH_BYTES,
  INGEST_NATIVE_CONTENT_TYPE,
  INGEST_TSV_CONTENT_TYPE,
  INGEST_TSV_MEDIA_TYPE,
  type TIngestBatch,
  type TIngestNativeHeader,
} from "@flowplane/protocol";
import { encodeNativeBlock, insertNative, type TTagColumn } from "@flowplane/query/native-block";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import { agentL4Row, networkRow } from "@flowplane/query/testing-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTsvBatch } from "../../agent/src/controller-link/exporter.ts";
import { makeBatch } from "../../agent/src/controller-link/index.ts";
import type { TNativeWriter, TTaggingRowWriter, TTagNative } from "../src/ingest/ingest.ts";
import {
  bearer,
  enrollAgent,
  enroll as enrollIn,
  postIngest,
  seedTenant,
  startHarness,
  startListeningController,
  storedRows,
  type THarness,
  type TListeningController,
} from "./harness.ts";

/**
 * Native ingest end to end: bodies as an agent sends them (a JSON header line, then one Native
 * block) posted to a listening controller (the real runtime: ledger, tagging, coalescer, store)
 * store the rows the same batch sent as TSV stores; a bad block, a table without a Native form,
 * a replay and another org's credential are answered as the protocol says.
 */
describe("POST /v1/ingest, Native encoding", () => {
  let controller: TListeningController;

  beforeAll(async () => {
    controller = await startListeningController("ctl_ingest_native");
  });
  afterAll(() => controller?.close());

  const agentOf = (orgId?: string) => enrollAgent(controller, "native", orgId);
  /** What an agent sends: the header line, then the block (`block` replaces the rows' own). */
  const nativeBody = (batch: TIngestBatch, block?: Buffer, over: Partial<TIngestNativeHeader> = {}) => {
    const header: TIngestNativeHeader = {
      batchId: batch.batchId,
      agentId: batch.agentId,
      table: batch.table,
      rows: batch.rows.length,
      ...over,
    };
    return Buffer.concat([
      Buffer.from(`${JSON.stringify(header)}\n`),
      block ?? encodeNativeBlock(batch.table, batch.rows as Record<string, unknown>[]),
    ]);
  };
  const post = (credential: string, body: Buffer | string, contentType = INGEST_NATIVE_CONTENT_TYPE) =>
    postIngest(controller, credential, body, contentType);
  const errorOf = async (res: Response) => ((await res.json()) as { error: { message: string } }).error;

  const stored = (table: "l4_flow_log" | "network_metrics", orgId: string, agentId: string) =>
    storedRows(controller, table, orgId, agentId);

  it("stores exactly what the same rows sent as TSV store (L4 and network metrics)", async () => {
    const tsv = await agentOf();
    const native = await agentOf(tsv.orgId);
    // is_final on every row: the encoder has no default for an optional Bool a row omits.
    const l4 = [
      agentL4Row({ is_final: true }),
      agentL4Row({ report_seq: 3, is_final: false, close_type: "forced_report" }),
      agentL4Row({
        client_ip: "2001:db8::7",
        server_ip: "::ffff:10.1.2.3",
        tunnel_outer_src: "192.0.2.9",
        is_final: true,
      }),
      agentL4Row({ flow_id: "18446744073709551615", group_id: 5, is_final: true }),
    ];
    const { org_id: _o, agent_id: _a, ...net } = networkRow();
    const metrics = [net, { ...net, server_port: 443, client_ip: "2001:db8::9", bytes_c2s: 2 ** 40 }];
    for (const [table, rows] of [
      ["l4_flow_log", l4],
      ["network_metrics", metrics],
    ] as const) {
      const viaTsv = await post(
        tsv.credential,
        encodeTsvBatch(makeBatch(tsv.agentId, table, rows)),
        INGEST_TSV_CONTENT_TYPE,
      );
      expect(await viaTsv.json()).toMatchObject({ accepted: rows.length, rejected: [] });
      const viaNative = await post(native.credential, nativeBody(makeBatch(native.agentId, table, rows)));
      expect(viaNative.status).toBe(200);
      expect(await viaNative.json()).toMatchObject({ accepted: rows.length, rejected: [] });
      const a = await stored(table, tsv.orgId, tsv.agentId);
      expect(a).toHaveLength(rows.length);
      expect(await stored(table, native.orgId, native.agentId)).toEqual(a);
    }
  });

  it("refuses a bad block whole with the validator's reason (400); the batch can then be sent right", async () => {
    const a = await agentOf();
    const batch = makeBatch(a.agentId, "l4_flow_log", [
      agentL4Row({ is_final: true }),
      agentL4Row({ is_final: false }),
    ]);
    const good = encodeNativeBlock("l4_flow_log", batch.rows as Record<string, unknown>[]);
    const cut = await post(a.credential, nativeBody(batch, good.subarray(0, good.length - 3)));
    expect(cut.status).toBe(400);
    expect((await errorOf(cut)).message).toMatch(/^Native ingest batch: .*ends inside/);
    // A Bool byte of 7 in is_final: found by row and column.
    const bad = Buffer.from(good);
    const bool = encodeNativeBlock("l4_flow_log", batch.rows as Record<string, unknown>[], {
      columns: ["is_final"],
    });
    const at = bad.indexOf(bool.subarray(2, bool.length - 2)) + bool.length - 4;
    bad[at + 1] = 7;
    const wrong = await post(a.credential, nativeBody(batch, bad));
    expect(wrong.status).toBe(400);
    expect((await errorOf(wrong)).message).toBe(
      "Native ingest batch: row 1, column is_final: Bool byte 7 (expected 0 or 1)",
    );
    const count = await post(a.credential, nativeBody(batch, undefined, { rows: 3 }));
    expect(count.status).toBe(400);
    expect((await errorOf(count)).message).toMatch(/header says 3 rows, the block holds 2/);
    const notJson = await post(a.credential, Buffer.concat([Buffer.from("nope\n"), good]));
    expect(notJson.status).toBe(400);
    expect(await stored("l4_flow_log", a.orgId, a.agentId)).toEqual([]);
    // Nothing of the refused attempts holds the batch id.
    const ok = await post(a.credential, nativeBody(batch));
    expect(await ok.json()).toMatchObject({ accepted: 2, rejected: [] });
    expect(await stored("l4_flow_log", a.orgId, a.agentId)).toHaveLength(2);
  });

  it("answers a table without a Native form, or an unknown version, with 400 naming the encodings that work", async () => {
    const a = await agentOf();
    const batch = makeBatch(a.agentId, "l7_flow_log", [{}]);
    const l7 = await post(
      a.credential,
      nativeBody(batch, encodeNativeBlock("l4_flow_log", [agentL4Row()]), { table: "l7_flow_log" }),
    );
    expect(l7.status).toBe(400);
    const err = await errorOf(l7);
    // What the agent's exporter reads as "send it in another encoding".
    expect(err.message).toContain("l7_flow_log has no Native wire form");
    expect(err.message).toContain(INGEST_TSV_MEDIA_TYPE);
    expect(err).not.toHaveProperty("issues");
    const v9 = await post(
      a.credential,
      nativeBody(makeBatch(a.agentId, "l4_flow_log", [agentL4Row()])),
      "application/vnd.flowplane.ingest+native; version=9",
    );
    expect(v9.status).toBe(400);
    expect((await errorOf(v9)).message).toContain(INGEST_NATIVE_CONTENT_TYPE);
    // Past the body limit: 413, as for TSV.
    const big = await post(
      a.credential,
      Buffer.concat([
        nativeBody(makeBatch(a.agentId, "l4_flow_log", [agentL4Row()])),
        Buffer.alloc(DEFAULT_MAX_BATCH_BYTES),
      ]),
    );
    expect(big.status).toBe(413);
  });

  it("a replayed batch is answered duplicate and writes nothing, in either encoding", async () => {
    const a = await agentOf();
    const batch = makeBatch(a.agentId, "l4_flow_log", [agentL4Row(), agentL4Row(), agentL4Row()]);
    const first = await post(a.credential, nativeBody(batch));
    expect(await first.json()).toMatchObject({ accepted: 3 });
    const again = await post(a.credential, nativeBody(batch));
    expect(await again.json()).toMatchObject({ accepted: 3, duplicate: true });
    const asTsv = await post(a.credential, encodeTsvBatch(batch), INGEST_TSV_CONTENT_TYPE);
    expect(await asTsv.json()).toMatchObject({ accepted: 3, duplicate: true });
    // And a batch first sent as TSV, replayed as Native.
    const other = makeBatch(a.agentId, "l4_flow_log", [agentL4Row()]);
    await post(a.credential, encodeTsvBatch(other), INGEST_TSV_CONTENT_TYPE);
    expect(await (await post(a.credential, nativeBody(other))).json()).toMatchObject({ duplicate: true });
    expect(await stored("l4_flow_log", a.orgId, a.agentId)).toHaveLength(4);
  });

  it("another org's credential cannot write into this org: the agent id is refused, the owner columns are the credential's", async () => {
    const a = await agentOf();
    const b = await agentOf();
    const forA = makeBatch(a.agentId, "l4_flow_log", [agentL4Row()]);
    const asOther = await post(b.credential, nativeBody(forA));
    expect(asOther.status).toBe(403);
    // A block carrying org_id (A's) under B's credential: refused, the credential decides.
    const one = encodeNativeBlock("l4_flow_log", [agentL4Row()]);
    const orgCol = Buffer.concat([
      Buffer.from([6]),
      Buffer.from("org_id"),
      Buffer.from([4]),
      Buffer.from("UUID"),
      Buffer.alloc(16, 1),
    ]);
    const withOrg = Buffer.concat([Buffer.from([(one[0] as number) + 1]), one.subarray(1), orgCol]);
    const forged = await post(b.credential, nativeBody(makeBatch(b.agentId, "l4_flow_log", [{}]), withOrg));
    expect(forged.status).toBe(400);
    expect((await errorOf(forged)).message).toMatch(/credential decides/);
    // B's own batch lands in B only, under B's agent.
    const own = await post(b.credential, nativeBody(makeBatch(b.agentId, "l4_flow_log", [agentL4Row()])));
    expect(own.status).toBe(200);
    const rs = await controller.ch.client.query({
      query: "SELECT org_id, agent_id FROM l4_flow_log WHERE org_id IN ({a:UUID}, {b:UUID})",
      query_params: { a: a.orgId, b: b.orgId },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ org_id: b.orgId, agent_id: b.agentId }]);
  });
});

/**
 * Tagging on the Native path: the hook's tag columns see each row's address (16 bytes) and tunnel
 * id in the sending agent's context, the ids they give land in ClickHouse, and where they give
 * none the agent's own value stays, as on the TSV path (a stand-in tagger; the real one's
 * resolution is checked against tagRows in clouds/tag-native.test.ts).
 */
describe("POST /v1/ingest, Native encoding, tagging", () => {
  let h: THarness;
  let ch: TestClickhouse;
  const asked: string[] = [];

  beforeAll(async () => {
    ch = await createTestClickhouse("ctl_ingest_native_tag");
    // Ids from the addresses' last octet when in 10/8, +1000 inside tunnel 7.
    const ids: TTagColumn["ids"] = (ips, column) => {
      const tunnel = column("tunnel_id");
      const out = new Uint32Array(ips.length / 16);
      for (let r = 0; r < out.length; r++) {
        const bump = tunnel && new DataView(tunnel.buffer, tunnel.byteOffset).getUint32(4 * r, true) === 7;
        if (ips[16 * r + 10] === 0xff && ips[16 * r + 12] === 10)
          out[r] = (ips[16 * r + 15] as number) + (bump ? 1000 : 0);
      }
      return out;
    };
    const write: TTaggingRowWriter = Object.assign(
      (async () => {
        throw new Error("not used");
      }) as TTaggingRowWriter,
      {
        tagNative: (async (_table, _orgId, agentId) => {
          asked.push(agentId);
          return [
            { column: "client_resource_id", from: "client_ip", ids },
            { column: "server_resource_id", from: "server_ip", ids },
          ];
        }) satisfies TTagNative,
        writeNative: (async (table, _orgId, block, opts) => {
          await insertNative(ch.client, table, block.columns, block.payload, opts?.dedupToken);
          return { inserted: block.rows };
        }) satisfies TNativeWriter,
      },
    );
    h = await startHarness("ctl_ingest_native_tag", { writeRows: write });
  });
  afterAll(async () => {
    await h?.close();
    await ch?.drop();
  });

  it("tags from each row's addresses and tunnel in the agent's context; the agent's value stays where none resolves", async () => {
    const { token } = await seedTenant(h);
    const a = await enrollIn(h, token.token);
    const rows = [
      agentL4Row({ client_ip: "10.0.0.11", server_ip: "10.0.0.22" }),
      agentL4Row({ client_ip: "10.0.0.11", server_ip: "10.0.0.22", tunnel_id: 7 }),
      agentL4Row({
        client_ip: "192.0.2.1",
        server_ip: "10.0.0.33",
        server_resource_id: 5,
        client_resource_id: 0,
      }),
      agentL4Row({ client_ip: "192.0.2.1", server_ip: "192.0.2.2", client_resource_id: 9 }),
    ].map((r) => ({ server_resource_id: 0, client_resource_id: 0, ...r }));
    const batch = makeBatch(a.agentId, "l4_flow_log", rows);
    const header: TIngestNativeHeader = {
      batchId: batch.batchId,
      agentId: a.agentId,
      table: "l4_flow_log",
      rows: 4,
    };
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/ingest",
      headers: { ...bearer(a.credential), "content-type": INGEST_NATIVE_CONTENT_TYPE },
      payload: Buffer.concat([
        Buffer.from(`${JSON.stringify(header)}\n`),
        encodeNativeBlock("l4_flow_log", rows),
      ]),
    });
    expect(res.json()).toMatchObject({ accepted: 4, rejected: [] });
    expect(asked).toEqual([a.agentId]);
    const rs = await ch.client.query({
      query:
        "SELECT client_resource_id AS c, server_resource_id AS s FROM l4_flow_log WHERE agent_id = {agent:UUID} ORDER BY flow_id",
      query_params: { agent: a.agentId },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([
      { c: 11, s: 22 },
      { c: 1011, s: 1022 },
      { c: 0, s: 33 },
      { c: 9, s: 0 },
    ]);
  });
});
