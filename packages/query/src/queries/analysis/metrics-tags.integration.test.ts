import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordRows } from "../../client.ts";
import { createTestClickhouse, type TestClickhouse } from "../../testing.ts";
import { AGENT, appRow, networkRow, ORG_A, ORG_B } from "../../testing-fixtures.ts";
import { applicationMetricsSeries } from "../application-metrics-series.ts";
import { networkMetricsSeries } from "../network-metrics-series.ts";
import { upsertTags } from "../tags.ts";
import { FilterError, type TFilter } from "./filters.ts";
import { redMetrics, splitMetricsFilters, type TRedParams, type TTcpParams, tcpMetrics } from "./metrics.ts";

/**
 * Resource tags on RED and TCP metrics (issue 9, DDL 0010), on known rows, on the raw tables and
 * both rollups. Org A has two VPCs that both use 10.0.0.0/16: agent A sees vpc-a (client a-cli
 * 10.0.1.5 → server a-web 10.0.1.10:443, 3 rows, and → db-1 10.0.2.20:5432, 1 row), agent B sees
 * vpc-b (b-cli 10.0.1.6 → b-web, the same 10.0.1.10:443, 2 rows); one untagged row. Every network
 * row has 10 000 bytes, every application row 4 requests. Org B reuses the same ids and addresses
 * under other names (4 rows). The ids are what ingest tagging writes (tested in the controller).
 */

let ch: TestClickhouse;
const H = 1_764_147_600_000_000; // an hour boundary
const HOUR = 3_600_000_000;
const MIN = 60_000_000;
const AGENT_B = "0190a1b2-0000-7000-8000-000000000002";
const A = { orgId: ORG_A, from: H, to: H + HOUR };

beforeAll(async () => {
  ch = await createTestClickhouse("metrics_tags");
  const names = (orgId: string, tags: [number, string][]) =>
    upsertTags(ch.client, { orgId, kind: "resource", tags: tags.map(([id, name]) => ({ id, name })) });
  const levels = (org: string, rows: Record<string, unknown>[]) =>
    ch.client.insert({
      table: "resource_tags",
      format: "JSONEachRow",
      values: rows.map((r) => ({ org_id: org, ...r })),
    });
  await names(ORG_A, [
    [10, "vpc-a"],
    [11, "vpc-b"],
    [101, "a-web"],
    [102, "b-web"],
    [103, "a-cli"],
    [104, "b-cli"],
    [201, "db-1"],
  ]);
  await levels(ORG_A, [
    { id: 10, kind: "vpc", vpc_id: 10 },
    { id: 11, kind: "vpc", vpc_id: 11 },
    { id: 101, kind: "instance", vpc_id: 10, host_id: 101, labels: { app: "web" } },
    { id: 102, kind: "instance", vpc_id: 11, host_id: 102, labels: { app: "web" } },
    { id: 103, kind: "instance", vpc_id: 10, host_id: 103 },
    { id: 104, kind: "instance", vpc_id: 11, host_id: 104 },
    { id: 201, kind: "instance", vpc_id: 10, host_id: 201, labels: { app: "db" } },
  ]);
  await names(ORG_B, [
    [10, "vpc-other"],
    [101, "other-web"],
    [103, "other-cli"],
  ]);
  await levels(ORG_B, [
    { id: 10, kind: "vpc", vpc_id: 10 },
    { id: 101, kind: "instance", vpc_id: 10, labels: { app: "web" } },
    { id: 103, kind: "instance", vpc_id: 10 },
  ]);

  const net: ReturnType<typeof networkRow>[] = [];
  const app: ReturnType<typeof appRow>[] = [];
  let i = 0;
  const add = (org: string, n: number, agent: string, c: [string, number], s: [string, number, number]) => {
    for (let k = 0; k < n; k++) {
      const time = H + (i++ % 50) * MIN + 1_000_000;
      const side = { org_id: org, agent_id: agent, time, server_ip: s[0], server_port: s[1] };
      net.push(networkRow({ ...side, client_ip: c[0], client_resource_id: c[1], server_resource_id: s[2] }));
      app.push(appRow({ ...side, server_resource_id: s[2] }));
    }
  };
  add(ORG_A, 3, AGENT, ["10.0.1.5", 103], ["10.0.1.10", 443, 101]);
  add(ORG_A, 1, AGENT, ["10.0.1.5", 103], ["10.0.2.20", 5432, 201]);
  add(ORG_A, 2, AGENT_B, ["10.0.1.6", 104], ["10.0.1.10", 443, 102]);
  add(ORG_A, 1, AGENT, ["192.168.1.1", 0], ["8.8.8.8", 53, 0]);
  add(ORG_B, 4, AGENT, ["10.0.1.5", 103], ["10.0.1.10", 443, 101]);
  for (const org of [ORG_A, ORG_B]) {
    await recordRows(
      ch.client,
      "network_metrics",
      org,
      net.filter((r) => r.org_id === org),
    );
    await recordRows(
      ch.client,
      "application_metrics",
      org,
      app.filter((r) => r.org_id === org),
    );
  }
});
afterAll(async () => {
  await ch?.drop();
});

/** Biggest first; ties by name (the query leaves their order open). */
const ranked = <T extends (string | number)[]>(rows: T[]) =>
  rows.sort((a, b) => Number(b[1]) - Number(a[1]) || String(a[0]).localeCompare(String(b[0])));

/** The same question on the raw rows, the per-minute rollup and the hourly one (7 h range). */
const TIERS = [
  { source: "raw", from: H, to: H + HOUR },
  { source: "rollup", from: H, to: H + HOUR },
  { source: "auto", from: H - 6 * HOUR, to: H + HOUR },
] as const;

async function tcp(p: Omit<TTcpParams, "from" | "to" | "orgId"> & { orgId?: string }) {
  const answers = [];
  for (const t of TIERS) {
    const r = await tcpMetrics(ch.client, { orgId: ORG_A, ...p, ...t });
    answers.push({ tier: r.tier, rows: ranked(r.rows.map((x) => [x.service, x.bytes])) });
  }
  expect(answers.map((a) => a.tier)).toEqual(["raw", "1m", "1h"]);
  // every tier gives the same figures
  expect(answers[1]?.rows).toEqual(answers[0]?.rows);
  expect(answers[2]?.rows).toEqual(answers[0]?.rows);
  return answers[0]?.rows;
}

async function red(p: Omit<TRedParams, "from" | "to" | "orgId"> & { orgId?: string }) {
  const answers = [];
  for (const t of TIERS) {
    const r = await redMetrics(ch.client, { orgId: ORG_A, ...p, ...t });
    answers.push({
      tier: r.tier,
      rows: ranked(r.rows.map((x) => [x.service, x.requests, x.p95Us, x.apdex])),
    });
  }
  expect(answers.map((a) => a.tier)).toEqual(["raw", "1m", "1h"]);
  expect(answers[1]?.rows).toEqual(answers[0]?.rows);
  expect(answers[2]?.rows).toEqual(answers[0]?.rows);
  return answers[0]?.rows.map((r) => r.slice(0, 2));
}

const f = (column: string, op: TFilter["op"], value: TFilter["value"]): TFilter => ({ column, op, value });

describe("resource tags on metrics (raw, 1m and 1h rollups)", () => {
  it("tells the two VPCs' 10.0.1.10:443 apart by tag filters", async () => {
    expect(await tcp({})).toEqual([
      ["10.0.1.10:443", 50_000],
      ["10.0.2.20:5432", 10_000],
      ["8.8.8.8:53", 10_000],
    ]);
    expect(await tcp({ filters: [f("server_vpc", "eq", "vpc-a")] })).toEqual([
      ["10.0.1.10:443", 30_000],
      ["10.0.2.20:5432", 10_000],
    ]);
    expect(await tcp({ filters: [f("server_vpc", "eq", "vpc-b")] })).toEqual([["10.0.1.10:443", 20_000]]);
    expect(await tcp({ filters: [f("client_resource", "in", ["b-cli", "nothing"])] })).toEqual([
      ["10.0.1.10:443", 20_000],
    ]);
    expect(
      await tcp({ filters: [f("server_label", "eq", "app=web"), f("client_vpc", "neq", "vpc-b")] }),
    ).toEqual([["10.0.1.10:443", 30_000]]);
    expect(await red({ filters: [f("server_vpc", "eq", "vpc-b")] })).toEqual([["10.0.1.10:443", 8]]);
    expect(await red({ filters: [f("server_host", "contains", "DB")] })).toEqual([["10.0.2.20:5432", 4]]);
  });

  it("groups by the server's tag level or label, untagged rows apart", async () => {
    expect(await tcp({ by: "vpc" })).toEqual([
      ["vpc-a", 40_000],
      ["vpc-b", 20_000],
      ["untagged", 10_000],
    ]);
    expect(await tcp({ by: "resource", filters: [f("server_ip", "eq", "10.0.1.10")] })).toEqual([
      ["a-web", 30_000],
      ["b-web", 20_000],
    ]);
    expect(await tcp({ by: "label", labelKey: "app" })).toEqual([
      ["app=web", 50_000],
      ["app=db", 10_000],
      ["no app", 10_000],
    ]);
    expect(await red({ by: "vpc" })).toEqual([
      ["vpc-a", 16],
      ["vpc-b", 8],
      ["untagged", 4],
    ]);
    expect(await red({ by: "host", filters: [f("server_vpc", "eq", "vpc-a")] })).toEqual([
      ["a-web", 12],
      ["db-1", 4],
    ]);
    const ep = await redMetrics(ch.client, { ...A, by: "k8s_service" });
    expect(ep.rows.map((r) => [r.service, r.l7_protocol, r.endpoint, r.requests])).toEqual([
      ["untagged", "http", "", 28],
    ]);
  });

  it("shows a rename on old rows, and the old name stops matching", async () => {
    await upsertTags(ch.client, { orgId: ORG_A, kind: "resource", tags: [{ id: 10, name: "vpc-alpha" }] });
    try {
      expect(await tcp({ by: "vpc" })).toEqual([
        ["vpc-alpha", 40_000],
        ["vpc-b", 20_000],
        ["untagged", 10_000],
      ]);
      expect(await red({ filters: [f("server_vpc", "eq", "vpc-a")] })).toEqual([]);
      expect(await red({ filters: [f("server_vpc", "eq", "vpc-alpha")], by: "vpc" })).toEqual([
        ["vpc-alpha", 16],
      ]);
    } finally {
      await upsertTags(ch.client, { orgId: ORG_A, kind: "resource", tags: [{ id: 10, name: "vpc-a" }] });
    }
  });

  it("keeps each org to its own rows and names (the same ids and addresses in both)", async () => {
    expect(await tcp({ orgId: ORG_B, by: "vpc" })).toEqual([["vpc-other", 40_000]]);
    expect(await red({ orgId: ORG_B, by: "resource" })).toEqual([["other-web", 16]]);
    // B's names never match A's rows, A's never B's
    expect(await tcp({ filters: [f("server_vpc", "eq", "vpc-other")] })).toEqual([]);
    expect(await tcp({ orgId: ORG_B, filters: [f("server_vpc", "eq", "vpc-a")] })).toEqual([]);
    expect(await red({ filters: [f("server_resource", "eq", "other-web")] })).toEqual([]);
  });

  it("filters the series the same way", async () => {
    const requests = async (pageFilters: TFilter[]) =>
      (await applicationMetricsSeries(ch.client, { ...A, step: "second", pageFilters })).reduce(
        (a, p) => a + p.requests,
        0,
      );
    expect(await requests([])).toBe(28);
    expect(await requests([f("server_vpc", "eq", "vpc-b")])).toBe(8);
    const bytes = async (pageFilters: TFilter[], step: "second" | "minute") =>
      (await networkMetricsSeries(ch.client, { ...A, step, pageFilters })).reduce(
        (a, p) => a + p.bytes_c2s + p.bytes_s2c,
        0,
      );
    for (const step of ["second", "minute"] as const) {
      expect(await bytes([f("client_vpc", "eq", "vpc-b")], step)).toBe(20_000);
      expect(await bytes([f("client_label", "eq", "app=web")], step)).toBe(0);
      expect(await bytes([f("server_label", "in", ["app=web", "app=db"])], step)).toBe(60_000);
    }
  });

  it("refuses what the table does not have, and binds crafted values", async () => {
    // application_metrics rows are summed over clients: no client side to filter on
    await expect(redMetrics(ch.client, { ...A, filters: [f("client_vpc", "eq", "vpc-a")] })).rejects.toThrow(
      FilterError,
    );
    await expect(tcpMetrics(ch.client, { ...A, filters: [f("endpoint", "eq", "/")] })).rejects.toThrow(
      FilterError,
    );
    await expect(tcpMetrics(ch.client, { ...A, filters: [f("org_id", "eq", ORG_B)] })).rejects.toThrow(
      FilterError,
    );
    await expect(tcpMetrics(ch.client, { ...A, by: "label" })).rejects.toThrow(/labelKey/);
    for (const evil of ["vpc-a' OR 1=1 --", "x') OR ('1'='1", "\\'; DROP TABLE tag_dict; --"]) {
      expect((await tcpMetrics(ch.client, { ...A, filters: [f("server_vpc", "eq", evil)] })).rows).toEqual(
        [],
      );
    }
    const odd = await tcpMetrics(ch.client, { ...A, by: "label", labelKey: "app') OR 1=1 --" });
    expect(odd.rows.map((r) => r.service)).toEqual(["no app') OR 1=1 --"]);
    expect(
      splitMetricsFilters([f("client_vpc", "eq", "a"), f("endpoint", "eq", "/"), f("server_vpc", "eq", "b")]),
    ).toEqual({
      red: [f("endpoint", "eq", "/"), f("server_vpc", "eq", "b")],
      tcp: [f("client_vpc", "eq", "a"), f("server_vpc", "eq", "b")],
      redSkips: ["client_vpc"],
      tcpSkips: ["endpoint"],
    });
    expect(() => splitMetricsFilters([f("__proto__", "eq", "x")])).toThrow(FilterError);
  });
});
