import { ClickHouseError } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrgScopeError, orgQuery, recordRows } from "./client.ts";
import { applicationMetricsSeries } from "./queries/application-metrics-series.ts";
import { findL4Flows } from "./queries/find-l4-flows.ts";
import { findL7Logs } from "./queries/find-l7-logs.ts";
import { flowTotals, getL4FlowById } from "./queries/get-l4-flow-by-id.ts";
import { networkMetricsSeries } from "./queries/network-metrics-series.ts";
import { upsertTags } from "./queries/tags.ts";
import { topTalkers } from "./queries/top-talkers.ts";
import { createTestClickhouse, type TestClickhouse } from "./testing.ts";
import { AGENT, appRow, l4Row, l7Row, networkRow, ORG_A, ORG_B } from "./testing-fixtures.ts";

let ch: TestClickhouse;
const T0 = 1_764_150_000_000_000;
const RANGE = { from: T0 - 3_600_000_000, to: T0 + 3_600_000_000 };

beforeAll(async () => {
  ch = await createTestClickhouse("client");
});
afterAll(async () => {
  await ch?.drop();
});

describe("through the store's HTTP interface with @clickhouse/client", () => {
  it("binds parameters of every type; an injection attempt stays a value", async () => {
    const evil = "a'b\\c\"; DROP TABLE l4_flow_log; --\n\t";
    const rows = await orgQuery<Record<string, unknown>>(
      ch.client,
      ORG_A,
      `SELECT {org_id:UUID} AS org, {s:String} AS s, {ip6:IPv6} AS ip6, {ip4:IPv6} AS ip4,
              {t:DateTime64(6, 'UTC')} AS t, {u:UInt64} AS u, {a:Array(String)} AS a`,
      {
        s: evil,
        ip6: "fe80::1",
        ip4: "192.168.1.1",
        t: "2026-11-26 10:00:00.000001",
        u: "18446744073709551615",
        a: ["x'y", "z\\w"],
      },
    );
    expect(rows).toEqual([
      {
        org: ORG_A,
        s: evil,
        ip6: "fe80::1",
        ip4: "::ffff:192.168.1.1",
        t: "2026-11-26 10:00:00.000001",
        u: "18446744073709551615",
        a: ["x'y", "z\\w"],
      },
    ]);
    const tables = await ch.client.query({ query: "EXISTS TABLE l4_flow_log", format: "JSONEachRow" });
    expect(await tables.json()).toEqual([{ result: 1 }]);
  });

  it("writes agent rows and reads them back in wire form, µs times exact", async () => {
    const res = await recordRows(ch.client, "l4_flow_log", ORG_A, [l4Row()]);
    expect(res).toEqual({ inserted: 1, rejected: [] });
    const raw = await orgQuery<{ end_time: string; t: string }>(
      ch.client,
      ORG_A,
      `SELECT toString(end_time) AS t FROM l4_flow_log WHERE org_id = {org_id:UUID}`,
    );
    expect(raw).toEqual([{ t: "2025-11-26 09:40:01.234567" }]);
    const [flow] = await getL4FlowById(ch.client, { orgId: ORG_A, flowId: "9223372036854775809" });
    expect(flow).toMatchObject({
      flow_id: "9223372036854775809",
      end_time: 1_764_150_001_234_567,
      client_ip: "10.0.0.1",
      tunnel_outer_src: "",
      bytes_s2c: 64_000,
      is_final: true,
      report_seq: 0,
    });
  });

  it("returns every report of a long flow and its totals", async () => {
    const id = "77";
    const org = "0190a1b2-c3d4-7e5f-8a9b-00000000000e";
    await recordRows(ch.client, "l4_flow_log", org, [
      l4Row({
        org_id: org,
        flow_id: id,
        report_seq: 0,
        close_type: "forced_report",
        end_time: T0 + 60_000_000,
        bytes_c2s: 100,
      }),
      l4Row({
        org_id: org,
        flow_id: id,
        report_seq: 1,
        close_type: "fin",
        end_time: T0 + 90_000_000,
        bytes_c2s: 50,
      }),
    ]);
    const reports = await getL4FlowById(ch.client, { orgId: org, flowId: id });
    expect(reports.map((r) => [r.report_seq, r.is_final])).toEqual([
      [0, false],
      [1, true],
    ]);
    expect(flowTotals(reports)).toMatchObject({
      bytes_c2s: 150,
      close_type: "fin",
      start_time: T0,
      end_time: T0 + 90_000_000,
    });
  });

  it("surfaces a ClickHouse error with its code", async () => {
    const err = await orgQuery(
      ch.client,
      ORG_A,
      "SELECT * FROM no_such_table WHERE org_id = {org_id:UUID}",
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClickHouseError);
    expect((err as ClickHouseError).code).toBe("60");
  });

  it("sends the default limits with every read, and the engine applies them", async () => {
    const [row] = await orgQuery<Record<string, unknown>>(
      ch.client,
      ORG_A,
      `SELECT getSetting('max_execution_time') AS t, getSetting('max_memory_usage') AS m,
              getSetting('max_rows_to_read') AS r, getSetting('readonly') AS ro, {org_id:UUID} AS org`,
    );
    expect([row?.t, row?.m, row?.r, row?.ro].map(Number)).toEqual([30, 2_000_000_000, 200_000_000, 2]);
    expect(row?.org).toBe(ORG_A);
  });

  it("applies read limits: rows read and read-only", async () => {
    const tooMany = await orgQuery(
      ch.client,
      ORG_A,
      "SELECT count() FROM numbers(1000000) WHERE {org_id:UUID} IS NOT NULL",
      {},
      { settings: { max_rows_to_read: "1000" } },
    ).catch((e: unknown) => e);
    expect((tooMany as ClickHouseError).code).toBe("158");
    const write = await orgQuery(
      ch.client,
      ORG_A,
      "INSERT INTO tag_dict (org_id, tag_kind, id, name) SELECT {org_id:UUID}, 'resource', 1, 'x'",
    ).catch((e: unknown) => e);
    expect((write as ClickHouseError).code).toBe("164");
    const tooSlow = await orgQuery(
      ch.client,
      ORG_A,
      "SELECT count() FROM numbers(10000000000) WHERE {org_id:UUID} IS NOT NULL AND sleepEachRow(0) = 0",
      {},
      { settings: { max_execution_time: 1, max_rows_to_read: "0" } },
    ).catch((e: unknown) => e);
    expect(["159", "160"]).toContain((tooSlow as ClickHouseError).code);
  });

  it("refuses to query without an org or without the org filter", async () => {
    await expect(orgQuery(ch.client, "", "SELECT 1 WHERE {org_id:UUID} IS NOT NULL")).rejects.toBeInstanceOf(
      OrgScopeError,
    );
    await expect(orgQuery(ch.client, ORG_A, "SELECT * FROM l4_flow_log")).rejects.toBeInstanceOf(
      OrgScopeError,
    );
    await expect(
      orgQuery(ch.client, ORG_A, "SELECT 1 WHERE {org_id:UUID} IS NOT NULL", { org_id: ORG_B }),
    ).rejects.toBeInstanceOf(OrgScopeError);
  });

  it("recordRows refuses rows of another org and keeps the valid ones", async () => {
    const res = await recordRows(
      ch.client,
      "l4_flow_log",
      ORG_B,
      [
        l4Row({ org_id: ORG_B, flow_id: "1" }),
        l4Row({ org_id: ORG_A, flow_id: "2" }),
        l4Row({ org_id: undefined, flow_id: "3", agent_id: undefined }),
        l4Row({ org_id: ORG_B, flow_id: "4", server_ip: "not-an-ip", bytes_c2s: -1 }),
        "garbage",
      ],
      { agentId: AGENT },
    );
    expect(res.inserted).toBe(2);
    expect(res.rejected.map((r) => r.index)).toEqual([1, 3, 4]);
    expect(res.rejected[0]?.error).toMatch(/^org_id: .*another organization/);
    expect(res.rejected[1]?.error).toMatch(/server_ip: .*bytes_c2s: /s);
    const ids = await orgQuery<{ flow_id: string }>(
      ch.client,
      ORG_B,
      "SELECT flow_id FROM l4_flow_log WHERE org_id = {org_id:UUID} ORDER BY flow_id",
    );
    expect(ids.map((r) => r.flow_id)).toEqual(["1", "3"]);
  });

  it("never returns another org's rows from the typed queries", async () => {
    await recordRows(ch.client, "l7_flow_log", ORG_A, [l7Row()]);
    await recordRows(ch.client, "l7_flow_log", ORG_B, [l7Row({ org_id: ORG_B, trace_id: "b" })]);
    await recordRows(ch.client, "network_metrics", ORG_A, [networkRow()]);
    await recordRows(ch.client, "network_metrics", ORG_B, [networkRow({ org_id: ORG_B, bytes_c2s: 777 })]);
    const flowsA = await findL4Flows(ch.client, { orgId: ORG_A, ...RANGE });
    expect(flowsA.rows.every((r) => r.org_id === ORG_A)).toBe(true);
    expect(flowsA.rows.map((r) => r.flow_id)).toEqual(["9223372036854775809"]);
    const flowsB = await findL4Flows(ch.client, { orgId: ORG_B, ...RANGE });
    expect(flowsB.rows.map((r) => r.flow_id).sort()).toEqual(["1", "3"]);
    const l7 = await findL7Logs(ch.client, { orgId: ORG_A, ...RANGE });
    expect(l7.rows.map((r) => [r.org_id, r.trace_id, r.server_ip, r.response_code])).toEqual([
      [ORG_A, "4bf92f3577b34da6a3ce929d0e0e4736", "2001:db8::2", 200],
    ]);
    expect(await getL4FlowById(ch.client, { orgId: ORG_A, flowId: "1" })).toEqual([]);
    const top = await topTalkers(ch.client, { orgId: ORG_A, ...RANGE });
    expect(top).toEqual([
      { client_ip: "10.0.0.1", server_ip: "10.0.0.2", server_port: 80, bytes: 10_000, packets: 18, flows: 1 },
    ]);
  });

  it("pages L4 flows with a cursor and filters them", async () => {
    const rows = Array.from({ length: 25 }, (_, i) =>
      l4Row({ flow_id: String(1000 + i), end_time: T0 + i * 1_000_000, server_port: i % 2 ? 443 : 80 }),
    );
    await recordRows(ch.client, "l4_flow_log", ORG_A, rows);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await findL4Flows(ch.client, {
        orgId: ORG_A,
        ...RANGE,
        limit: 10,
        filters: { serverPort: 443 },
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.rows.map((r) => r.flow_id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(
      rows
        .filter((r) => r.server_port === 443)
        .map((r) => String(r.flow_id))
        .reverse(),
    );
  });

  it("rolls metrics up per minute and serves both series", async () => {
    const org = "0190a1b2-c3d4-7e5f-8a9b-00000000000c";
    await recordRows(ch.client, "network_metrics", org, [
      networkRow({ org_id: org, time: T0, bytes_c2s: 1 }),
      networkRow({ org_id: org, time: T0 + 1_000_000, bytes_c2s: 2 }),
      networkRow({ org_id: org, time: T0 + 61_000_000, bytes_c2s: 4 }),
    ]);
    const perSecond = await networkMetricsSeries(ch.client, { orgId: org, ...RANGE, step: "second" });
    expect(perSecond.map((p) => [p.time, p.bytes_c2s])).toEqual([
      [T0, 1],
      [T0 + 1_000_000, 2],
      [T0 + 61_000_000, 4],
    ]);
    const perMinute = await networkMetricsSeries(ch.client, { orgId: org, ...RANGE, step: "minute" });
    const minute = (t: number) => Math.floor(t / 60_000_000) * 60_000_000;
    expect(perMinute.map((p) => [p.time, p.bytes_c2s, p.rtt_avg_us])).toEqual([
      [minute(T0), 3, 150],
      [minute(T0 + 61_000_000), 4, 150],
    ]);
    await recordRows(ch.client, "application_metrics", org, [
      appRow({ org_id: org }),
      appRow({ org_id: org }),
    ]);
    const app = await orgQuery<{ requests: string; max: number; buckets: string[] }>(
      ch.client,
      org,
      `SELECT sum(requests) AS requests, max(duration_max_us) AS max, sumForEachMerge(latency_buckets) AS buckets
       FROM application_metrics_1m WHERE org_id = {org_id:UUID}`,
    );
    expect(app[0]?.requests).toBe("8");
    expect(app[0]?.max).toBe(30_000);
    expect(app[0]?.buckets.map(Number)).toEqual([0, 0, 6, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (const step of ["second", "minute"] as const) {
      const series = await applicationMetricsSeries(ch.client, { orgId: org, ...RANGE, step });
      expect(series, step).toEqual([
        {
          time: step === "second" ? T0 : Math.floor(T0 / 60_000_000) * 60_000_000,
          requests: 8,
          errors_client: 2,
          errors_server: 0,
          timeouts: 0,
          duration_avg_us: 10_000,
          duration_max_us: 30_000,
          p50_us: 5_000,
          p95_us: 30_000,
          p99_us: 30_000,
        },
      ]);
    }
  });

  it("resolves tag names at query time, so a rename shows on old rows", async () => {
    const org = "0190a1b2-c3d4-7e5f-8a9b-00000000000d";
    await recordRows(ch.client, "l4_flow_log", org, [l4Row({ org_id: org, group_id: 7 })]);
    await upsertTags(ch.client, { orgId: org, kind: "agent_group", tags: [{ id: 7, name: "edge" }] });
    await upsertTags(ch.client, { orgId: ORG_B, kind: "agent_group", tags: [{ id: 7, name: "other org" }] });
    expect((await findL4Flows(ch.client, { orgId: org, ...RANGE })).rows[0]?.group_name).toBe("edge");
    await upsertTags(ch.client, { orgId: org, kind: "agent_group", tags: [{ id: 7, name: "edge-renamed" }] });
    expect((await findL4Flows(ch.client, { orgId: org, ...RANGE })).rows[0]?.group_name).toBe("edge-renamed");
  });
});
