import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orgQuery, recordRows } from "./client.ts";
import { getL4FlowById } from "./queries/get-l4-flow-by-id.ts";
import { createTestClickhouse, type TestClickhouse } from "./testing.ts";
import { AGENT, l4Row, l7Row, networkRow, ORG_A } from "./testing-fixtures.ts";

let ch: TestClickhouse;
beforeAll(async () => {
  ch = await createTestClickhouse("record_rows");
});
afterAll(async () => {
  await ch?.drop();
});

const count = async (table: string, where = "1") => {
  const [r] = await orgQuery<{ n: string }>(
    ch.client,
    ORG_A,
    `SELECT count() AS n FROM ${table} WHERE org_id = {org_id:UUID} AND ${where}`,
  );
  return Number(r?.n);
};

describe("recordRows (TabSeparated bulk insert)", () => {
  it("stores odd values exactly as the schema normalises them, fast path or zod", async () => {
    const text = "tab\there\nnewline back\\slash nul\0 cr\r quote' dq\" ünï";
    const res = await recordRows(ch.client, "l7_flow_log", ORG_A, [
      l7Row({ flow_id: "18446744073709551615", request_resource: text, response_code: null }),
      // Not in normal form: numbers as strings, upper-case UUIDs, a v4-mapped address (zod path).
      l7Row({
        flow_id: 42,
        org_id: ORG_A.toUpperCase(),
        agent_id: AGENT.toUpperCase(),
        client_ip: "::ffff:192.0.2.7",
        server_port: "8080" as unknown as number,
        start_time: 5,
        end_time: 1_000_001,
      }),
      l7Row({ flow_id: "7", client_ip: "2001:db8::1", server_ip: "fe80::2" }),
    ]);
    expect(res).toEqual({ inserted: 3, rejected: [] });
    const rows = await orgQuery<Record<string, string | number | null>>(
      ch.client,
      ORG_A,
      `SELECT toString(flow_id) AS flow_id, request_resource, response_code, IPv6NumToString(client_ip) AS c,
              IPv6NumToString(server_ip) AS s, server_port, toUnixTimestamp64Micro(start_time) AS st,
              toUnixTimestamp64Micro(end_time) AS et, toString(agent_id) AS agent, ip_protocol
       FROM l7_flow_log WHERE org_id = {org_id:UUID} ORDER BY flow_id`,
    );
    expect(rows.map((r) => r.flow_id)).toEqual(["18446744073709551615", "42", "7"]);
    expect(rows[0]).toMatchObject({ request_resource: text, response_code: null, ip_protocol: 6 });
    expect(rows[1]).toMatchObject({
      c: "::ffff:192.0.2.7",
      server_port: 8080,
      st: "5",
      et: "1000001",
      agent: AGENT,
    });
    expect(rows[2]).toMatchObject({ c: "2001:db8::1", s: "fe80::2" });
  });

  it("fills omitted optionals with their DDL defaults, expressions included", async () => {
    await recordRows(ch.client, "l4_flow_log", ORG_A, [
      l4Row({ flow_id: "101", close_type: "forced_report" }),
      l4Row({ flow_id: "102", report_seq: 3, is_final: 0 as unknown as boolean }),
    ]);
    const [a] = await getL4FlowById(ch.client, { orgId: ORG_A, flowId: "101" });
    const [b] = await getL4FlowById(ch.client, { orgId: ORG_A, flowId: "102" });
    expect(a).toMatchObject({ report_seq: 0, is_final: false, group_id: 0, client_resource_id: 0 });
    expect(b).toMatchObject({ report_seq: 3, is_final: false });
  });

  it("a batch retried with its token is stored once, rollups included; without one, twice", async () => {
    const rows = [l4Row({ flow_id: "201" }), l4Row({ flow_id: "202", end_time: 1_764_250_000_000_000 })];
    const rollup = async () => {
      const [r] = await orgQuery<{ n: string }>(
        ch.client,
        ORG_A,
        "SELECT toString(sum(bytes)) AS n FROM l4_edge_1h WHERE org_id = {org_id:UUID} AND server_port = 81",
      );
      return r?.n;
    };
    const batch = rows.map((r) => ({ ...r, server_port: 81 }));
    for (let i = 0; i < 3; i++)
      await recordRows(ch.client, "l4_flow_log", ORG_A, batch, { dedupToken: "b-1" });
    expect(await count("l4_flow_log", "flow_id IN (201, 202)")).toBe(2);
    expect(await rollup()).toBe(String(2 * (1200 + 64_000)));

    const metrics = [networkRow({ bytes_c2s: 5 })];
    await recordRows(ch.client, "network_metrics", ORG_A, metrics);
    await recordRows(ch.client, "network_metrics", ORG_A, metrics);
    expect(await count("network_metrics", "bytes_c2s = 5")).toBe(2);
  });
});
