import { DEFAULT_MAX_BATCH_BYTES, INGEST_TSV_CONTENT_TYPE, type TIngestBatch } from "@flowplane/protocol";
import { insertEncoded, recordRows } from "@flowplane/query/client";
import { encodeTsvLines, ROW_TABLES, wireColumns } from "@flowplane/query/rows";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import { agentL4Row } from "@flowplane/query/testing-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTsvBatch } from "../../agent/src/controller-link/exporter.ts";
import { CredentialHolder, HttpExporter, makeBatch } from "../../agent/src/controller-link/index.ts";
import type { TTaggingRowWriter, TTagRows } from "../src/ingest/ingest.ts";
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
 * The compact ingest encoding end to end: the agent's exporter → a listening controller (the real
 * runtime: ledger, tagging, coalescer) → ClickHouse. Same rows as JSON batches, row-level
 * rejections naming row and column, owner columns from the credential only, replays harmless.
 */
describe("POST /v1/ingest, compact TSV encoding", () => {
  let controller: TListeningController;

  beforeAll(async () => {
    controller = await startListeningController("ctl_ingest_tsv");
  });
  afterAll(() => controller?.close());

  const agentOf = (orgId?: string) => enrollAgent(controller, "tsv", orgId);
  const exporterOf = (credential: string, encoding: "tsv" | "json") =>
    new HttpExporter({
      endpoint: () => controller.url,
      credential: new CredentialHolder(credential),
      encoding,
    });
  const post = (credential: string, body: Buffer | string, contentType = INGEST_TSV_CONTENT_TYPE) =>
    postIngest(controller, credential, body, contentType);

  const stored = (orgId: string, agentId: string) => storedRows(controller, "l4_flow_log", orgId, agentId);

  it("stores exactly what the same rows sent as JSON store", async () => {
    const json = await agentOf();
    const tsv = await agentOf(json.orgId);
    const rows = [
      agentL4Row(),
      agentL4Row({ report_seq: 3, is_final: false, close_type: "forced_report" }),
      agentL4Row({ client_ip: "2001:db8::7", server_ip: "::ffff:10.1.2.3", tunnel_outer_src: "192.0.2.9" }),
      agentL4Row({ flow_id: "18446744073709551615", group_id: 5 }),
    ];
    const viaJson = await exporterOf(json.credential, "json").export(
      makeBatch(json.agentId, "l4_flow_log", rows),
    );
    const exporter = exporterOf(tsv.credential, "tsv");
    const viaTsv = await exporter.export(makeBatch(tsv.agentId, "l4_flow_log", rows));
    expect(viaJson).toMatchObject({ code: "success", response: { accepted: 4, rejected: [] } });
    expect(viaTsv).toMatchObject({ code: "success", response: { accepted: 4, rejected: [] } });
    expect(exporter.encoding).toBe("tsv");
    const a = await stored(json.orgId, json.agentId);
    expect(a).toHaveLength(4);
    expect(await stored(tsv.orgId, tsv.agentId)).toEqual(a);
  });

  it("rejects bad values by row and column and keeps the valid rows", async () => {
    const a = await agentOf();
    const batch = makeBatch(a.agentId, "l4_flow_log", [
      agentL4Row(),
      agentL4Row({ rtt_us: -5 }),
      agentL4Row({ client_ip: "999.1.1.1" }),
      agentL4Row({ close_type: "FIN" }),
      agentL4Row({ flow_id: "12x" }),
      agentL4Row(),
    ]);
    const r = await exporterOf(a.credential, "tsv").export(batch);
    if (r.code !== "success") throw new Error(`export: ${r.code}`);
    expect(r.response.accepted).toBe(2);
    expect(r.response.rejected.map((x) => x.index)).toEqual([1, 2, 3, 4]);
    expect(r.response.rejected[0]?.error).toMatch(/^row 1, column rtt_us: /);
    expect(r.response.rejected[1]?.error).toMatch(/^row 2, column client_ip: .*999\.1\.1\.1/);
    expect(r.response.rejected[2]?.error).toMatch(/^row 3, column close_type: /);
    expect(r.response.rejected[3]?.error).toMatch(/^row 4, column flow_id: /);
    expect(await stored(a.orgId, a.agentId)).toHaveLength(2);
  });

  it("stamps the credential's org and agent; a header naming them or another agent is refused", async () => {
    const a = await agentOf();
    const b = await agentOf();
    const columns = ["org_id", ...wireColumns(ROW_TABLES.l4_flow_log)];
    const header = {
      batchId: crypto.randomUUID(),
      agentId: a.agentId,
      table: "l4_flow_log",
      rows: 1,
      columns,
    };
    const lines = encodeTsvLines(ROW_TABLES.l4_flow_log, columns, [agentL4Row({ org_id: b.orgId })]);
    const withOrg = await post(a.credential, `${JSON.stringify(header)}\n${lines}`);
    expect(withOrg.status).toBe(400);
    expect(((await withOrg.json()) as { error: { message: string } }).error.message).toMatch(
      /credential decides/,
    );

    const foreign = makeBatch(b.agentId, "l4_flow_log", [agentL4Row()]);
    const asOther = await post(a.credential, encodeTsvBatch(foreign));
    expect(asOther.status).toBe(403);

    const own = await post(a.credential, encodeTsvBatch(makeBatch(a.agentId, "l4_flow_log", [agentL4Row()])));
    expect(own.status).toBe(200);
    const rs = await controller.ch.client.query({
      query: "SELECT org_id, agent_id FROM l4_flow_log WHERE org_id IN ({a:UUID}, {b:UUID})",
      query_params: { a: a.orgId, b: b.orgId },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ org_id: a.orgId, agent_id: a.agentId }]);
  });

  it("a replayed batch is answered duplicate and writes nothing, in either encoding", async () => {
    const a = await agentOf();
    const batch: TIngestBatch = makeBatch(a.agentId, "l4_flow_log", [agentL4Row(), agentL4Row()]);
    const first = await post(a.credential, encodeTsvBatch(batch));
    expect(await first.json()).toMatchObject({ accepted: 2 });
    const again = await post(a.credential, encodeTsvBatch(batch));
    expect(await again.json()).toMatchObject({ accepted: 2, duplicate: true });
    const asJson = await post(a.credential, JSON.stringify(batch), "application/json");
    expect(await asJson.json()).toMatchObject({ accepted: 2, duplicate: true });
    expect(await stored(a.orgId, a.agentId)).toHaveLength(2);
  });

  it("answers an unknown encoding or version with 400 naming what it reads; a cut body with 400", async () => {
    const a = await agentOf();
    const body = encodeTsvBatch(makeBatch(a.agentId, "l4_flow_log", [agentL4Row()]));
    for (const type of ["application/vnd.flowplane.ingest+tsv; version=9", "text/csv"]) {
      const res = await post(a.credential, body, type);
      expect(res.status).toBe(400);
      const msg = ((await res.json()) as { error: { message: string } }).error.message;
      expect(msg).toContain("unsupported ingest encoding");
      expect(msg).toContain(INGEST_TSV_CONTENT_TYPE);
    }
    const cut = await post(a.credential, body.subarray(0, body.length - 40));
    expect(cut.status).toBe(200); // the last line lost fields: that row is rejected by index
    expect(await cut.json()).toMatchObject({ accepted: 0, rejected: [{ index: 0 }] });
    const header = body.subarray(0, body.indexOf(10) + 1);
    const noRows = await post(a.credential, header);
    expect(noRows.status).toBe(400);
    expect(((await noRows.json()) as { error: { message: string } }).error.message).toMatch(/too short/);
    // Past the body limit (the pooled reader keeps Fastify's rules): 413, and the next batch is fine.
    const big = await post(a.credential, Buffer.concat([header, Buffer.alloc(DEFAULT_MAX_BATCH_BYTES, 65)]));
    expect(big.status).toBe(413);
    const next = await post(
      a.credential,
      encodeTsvBatch(makeBatch(a.agentId, "l4_flow_log", [agentL4Row()])),
    );
    expect(await next.json()).toMatchObject({ accepted: 1 });
  });
});

/**
 * Tagging on the compact path: the tagger sees each row's addresses, tunnel id and the sending
 * agent, and the ids it sets land in ClickHouse exactly as on the JSON path (a stand-in tagger,
 * the real one is tested in clouds/ingest-tagging).
 */
describe("POST /v1/ingest, compact TSV encoding, tagging", () => {
  let h: THarness;
  let ch: TestClickhouse;
  const seen: { agentId: string | undefined; row: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    ch = await createTestClickhouse("ctl_ingest_tsv_tag");
    // Ids from the addresses' last octet, +1000 inside tunnel 7: what the agent's context decides.
    const tagRows: TTagRows = async (_table, _orgId, agentId, rows) => {
      for (const row of rows) {
        seen.push({ agentId, row: { ...row } });
        const bump = row.tunnel_id === 7 ? 1000 : 0;
        for (const side of ["client", "server"] as const) {
          const ip = row[`${side}_ip`];
          if (typeof ip === "string" && ip.startsWith("10.")) {
            row[`${side}_resource_id`] = Number(ip.split(".").pop()) + bump;
          }
        }
      }
    };
    const write: TTaggingRowWriter = Object.assign(
      ((table, orgId, rows, opts) => recordRows(ch.client, table, orgId, rows, opts)) as TTaggingRowWriter,
      {
        tagRows,
        writeEncoded: (async (table, _orgId, encoded, opts) => {
          await insertEncoded(ch.client, table, encoded.payload, opts?.dedupToken);
          return { inserted: encoded.rows, rejected: [] };
        }) satisfies TTaggingRowWriter["writeEncoded"],
      },
    );
    h = await startHarness("ctl_ingest_tsv_tag", { writeRows: write });
  });
  afterAll(async () => {
    await h?.close();
    await ch?.drop();
  });

  it("tags from each row's addresses and tunnel in the agent's context, as the JSON path does", async () => {
    const { token } = await seedTenant(h);
    const a = await enrollIn(h, token.token);
    const rows = [
      agentL4Row({ client_ip: "10.0.0.11", server_ip: "10.0.0.22" }),
      agentL4Row({ client_ip: "10.0.0.11", server_ip: "10.0.0.22", tunnel_id: 7 }),
      agentL4Row({ client_ip: "192.0.2.1", server_ip: "10.0.0.33", server_resource_id: 5 }),
      agentL4Row({ client_ip: "192.0.2.1", server_ip: "192.0.2.2", client_resource_id: 9 }),
    ];
    const send = (body: Buffer | string, type: string) =>
      h.app.inject({
        method: "POST",
        url: "/v1/ingest",
        headers: { ...bearer(a.credential), "content-type": type },
        payload: body,
      });
    const tsv = await send(
      encodeTsvBatch(makeBatch(a.agentId, "l4_flow_log", rows)),
      INGEST_TSV_CONTENT_TYPE,
    );
    expect(tsv.json()).toMatchObject({ accepted: 4, rejected: [] });
    expect(seen.map((s) => s.agentId)).toEqual(Array(4).fill(a.agentId));
    expect(seen[1]?.row).toEqual({ client_ip: "10.0.0.11", server_ip: "10.0.0.22", tunnel_id: 7 });
    const json = await send(JSON.stringify(makeBatch(a.agentId, "l4_flow_log", rows)), "application/json");
    expect(json.json()).toMatchObject({ accepted: 4, rejected: [] });
    const rs = await ch.client.query({
      query:
        "SELECT flow_id, client_resource_id AS c, server_resource_id AS s, count() AS n FROM l4_flow_log WHERE agent_id = {agent:UUID} GROUP BY flow_id, c, s ORDER BY flow_id",
      query_params: { agent: a.agentId },
      format: "JSONEachRow",
    });
    // Each row twice (JSON and TSV) with the same ids.
    expect(
      (await rs.json()).map((r) => [
        (r as { c: number }).c,
        (r as { s: number }).s,
        Number((r as { n: string }).n),
      ]),
    ).toEqual([
      [11, 22, 2],
      [1011, 1022, 2],
      [0, 33, 2],
      [9, 0, 2],
    ]);
  });
});
