import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordRows } from "../../client.ts";
import { createTestClickhouse, type TestClickhouse } from "../../testing.ts";
import { l4Row, l7Row, ORG_A, ORG_B } from "../../testing-fixtures.ts";
import { upsertTags } from "../tags.ts";
import { FilterError, type TFilter } from "./filters.ts";
import { flowLogCount, flowLogPage, l7LogCount } from "./page.ts";
import { topologyEdges } from "./topology.ts";

/**
 * Resource tags in the analysis queries (issue 9), on known data. Org A: pods web-1, web-2
 * (namespace shop, VPC vpc-shop, app=web) and cron-1 (namespace ops, VPC vpc-ops, app=cron) call
 * host db-1 (vpc-shop): 6, 4 and 3 flows, each with one request, plus 2 untagged flows. Org B reuses
 * the same ids under other names (ids are per org).
 */

let ch: TestClickhouse;
const H = 1_764_147_600_000_000; // an hour boundary
const HOUR = 3_600_000_000;
const A = { orgId: ORG_A, from: H, to: H + HOUR };

beforeAll(async () => {
  ch = await createTestClickhouse("resource_tags");
  const tags = (org: string, rows: Record<string, unknown>[]) =>
    ch.client.insert({
      table: "resource_tags",
      format: "JSONEachRow",
      values: rows.map((r) => ({ org_id: org, ...r })),
    });
  await upsertTags(ch.client, {
    orgId: ORG_A,
    kind: "resource",
    tags: [
      { id: 10, name: "vpc-shop" },
      { id: 11, name: "vpc-ops" },
      { id: 20, name: "shop" },
      { id: 21, name: "ops" },
      { id: 101, name: "web-1" },
      { id: 102, name: "web-2" },
      { id: 103, name: "cron-1" },
      { id: 201, name: "db-1" },
    ],
  });
  await tags(ORG_A, [
    { id: 10, kind: "vpc", vpc_id: 10 },
    { id: 11, kind: "vpc", vpc_id: 11 },
    { id: 20, kind: "namespace", namespace_id: 20 },
    { id: 21, kind: "namespace", namespace_id: 21 },
    {
      id: 101,
      kind: "pod",
      vpc_id: 10,
      namespace_id: 20,
      pod_id: 101,
      labels: { app: "web", tier: "front" },
    },
    { id: 102, kind: "pod", vpc_id: 10, namespace_id: 20, pod_id: 102, labels: { app: "web" } },
    { id: 103, kind: "pod", vpc_id: 11, namespace_id: 21, pod_id: 103, labels: { app: "cron" } },
    { id: 201, kind: "host", vpc_id: 10, host_id: 201 },
  ]);
  await upsertTags(ch.client, {
    orgId: ORG_B,
    kind: "resource",
    tags: [
      { id: 10, name: "vpc-secret-b" },
      { id: 101, name: "b-pod" },
    ],
  });
  await tags(ORG_B, [
    { id: 10, kind: "vpc", vpc_id: 10 },
    { id: 101, kind: "pod", vpc_id: 10, pod_id: 101, labels: { app: "web" } },
  ]);
  const l4: Record<string, unknown>[] = [];
  const l7: Record<string, unknown>[] = [];
  let flow = 1;
  const add = (org: string, n: number, client: string, clientId: number, serverId: number) => {
    for (let i = 0; i < n; i++, flow++) {
      const t = H + 600_000_000 + flow * 1_000_000;
      const common = {
        org_id: org,
        flow_id: String(flow),
        client_ip: client,
        server_ip: "10.0.2.1",
        server_port: 5432,
        client_resource_id: clientId,
        server_resource_id: serverId,
      };
      l4.push(l4Row({ ...common, start_time: t, end_time: t + 1000 }));
      l7.push(l7Row({ ...common, start_time: t + 100, end_time: t + 600, l7_protocol: "pgsql" }));
    }
  };
  add(ORG_A, 6, "10.0.1.1", 101, 201);
  add(ORG_A, 4, "10.0.1.2", 102, 201);
  add(ORG_A, 3, "10.0.3.1", 103, 201);
  add(ORG_A, 2, "192.168.9.9", 0, 201);
  add(ORG_B, 5, "10.9.0.1", 101, 10);
  for (const org of [ORG_A, ORG_B]) {
    const mine = (r: Record<string, unknown>) => r.org_id === org;
    expect((await recordRows(ch.client, "l4_flow_log", org, l4.filter(mine))).rejected).toEqual([]);
    expect((await recordRows(ch.client, "l7_flow_log", org, l7.filter(mine))).rejected).toEqual([]);
  }
});
afterAll(async () => {
  await ch?.drop();
});

const f = (column: string, op: TFilter["op"], value: TFilter["value"]): TFilter => ({ column, op, value });
const flows = (filters: TFilter[], q: { orgId: string; from: number; to: number } = A) =>
  flowLogCount(ch.client, { ...q, filters });

describe("filters by resource tag", () => {
  it("match every level, labels and operators by current name, exactly", async () => {
    expect(await flows([])).toBe(15);
    expect(await flows([f("client_namespace", "eq", "shop")])).toBe(10);
    expect(await flows([f("client_vpc", "eq", "vpc-ops")])).toBe(3);
    expect(await flows([f("server_host", "eq", "db-1")])).toBe(15);
    expect(await flows([f("server_vpc", "eq", "vpc-shop")])).toBe(15);
    expect(await flows([f("client_pod", "in", ["web-1", "cron-1"])])).toBe(9);
    expect(await flows([f("client_pod", "contains", "WEB")])).toBe(10);
    expect(await flows([f("client_namespace", "neq", "shop")])).toBe(5);
    expect(await flows([f("client_resource", "eq", "web-2")])).toBe(4);
    expect(await flows([f("client_label", "eq", "app=web")])).toBe(10);
    expect(await flows([f("client_label", "in", ["app=cron", "tier=front"])])).toBe(9);
    expect(await flows([f("client_label", "neq", "app=web")])).toBe(5);
    expect(await flows([f("client_namespace", "eq", "shop"), f("client_label", "eq", "tier=front")])).toBe(6);
    expect(await l7LogCount(ch.client, { ...A, filters: [f("client_namespace", "eq", "shop")] })).toBe(10);
    expect(await l7LogCount(ch.client, { ...A, filters: [f("server_label", "eq", "app=web")] })).toBe(0);
    const page = await flowLogPage(ch.client, { ...A, filters: [f("client_pod", "eq", "cron-1")] });
    expect(page.rows.map((r) => r.client_ip)).toEqual(Array(3).fill("10.0.3.1"));
  });

  it("never match another org's names or rows, also through crafted values", async () => {
    expect(await flows([f("client_vpc", "eq", "vpc-secret-b")])).toBe(0);
    expect(await flows([f("client_pod", "eq", "b-pod")])).toBe(0);
    const B = { orgId: ORG_B, from: H, to: H + HOUR };
    expect(await flows([f("client_pod", "eq", "web-1")], B)).toBe(0);
    expect(await flows([f("client_pod", "eq", "b-pod")], B)).toBe(5);
    expect(await flows([f("client_label", "eq", "app=web")], B)).toBe(5);
    for (const v of [
      "shop' OR 1=1 --",
      "') OR org_id != toUUID('00000000-0000-0000-0000-000000000000",
      "\\' OR 1 --",
    ]) {
      expect(await flows([f("client_namespace", "eq", v)])).toBe(0);
      expect(await flows([f("client_namespace", "contains", v)])).toBe(0);
      expect(await flows([f("client_label", "eq", `app=${v}`)])).toBe(0);
      expect(await flows([f("client_label", "eq", `${v}=web`)])).toBe(0);
      expect(await flows([f("client_namespace", "neq", v)])).toBe(15);
    }
    for (const bad of [
      f("client_label", "eq", "web"),
      f("client_label", "contains", "app=web"),
      f("client_vpc", "range", ["a", "z"]),
      f("client_vpc", "cidr", "10.0.0.0/8"),
      f("client_vpc", "eq", ["a", "b"]),
      f("client_tenant", "eq", "x"),
    ]) {
      await expect(flows([bad])).rejects.toThrow(FilterError);
    }
  });

  it("follow a rename: old rows answer to the new name only", async () => {
    await upsertTags(ch.client, { orgId: ORG_A, kind: "resource", tags: [{ id: 20, name: "storefront" }] });
    expect(await flows([f("client_namespace", "eq", "storefront")])).toBe(10);
    expect(await flows([f("client_namespace", "eq", "shop")])).toBe(0);
    const { edges } = await topologyEdges(ch.client, { ...A, groupBy: "namespace" });
    expect(edges.map((e) => e.client).sort()).toEqual(["ops", "storefront", "untagged"]);
    await upsertTags(ch.client, { orgId: ORG_A, kind: "resource", tags: [{ id: 20, name: "shop" }] });
  });
});

describe("topology grouped by resource tag", () => {
  const pairs = (edges: { client: string; server: string; requests: number; flows: number }[]) =>
    edges.map((e) => [e.client, e.server, e.requests, e.flows]).sort();

  it("names nodes by the level's current name, with exact figures", async () => {
    const byVpc = await topologyEdges(ch.client, { ...A, groupBy: "vpc" });
    expect(pairs(byVpc.edges)).toEqual([
      ["untagged", "vpc-shop", 2, 2],
      ["vpc-ops", "vpc-shop", 3, 3],
      ["vpc-shop", "vpc-shop", 10, 10],
    ]);
    const byNs = await topologyEdges(ch.client, { ...A, groupBy: "namespace" });
    expect(pairs(byNs.edges)).toEqual([
      ["ops", "untagged", 3, 3],
      ["shop", "untagged", 10, 10],
      ["untagged", "untagged", 2, 2],
    ]);
    const byApp = await topologyEdges(ch.client, { ...A, groupBy: "label", labelKey: "app" });
    expect(pairs(byApp.edges)).toEqual([
      ["app=cron", "no app", 3, 3],
      ["app=web", "no app", 10, 10],
      ["no app", "no app", 2, 2],
    ]);
    const byResource = await topologyEdges(ch.client, {
      ...A,
      groupBy: "resource",
      filters: [f("client_namespace", "eq", "shop")],
    });
    expect(pairs(byResource.edges)).toEqual([
      ["web-1", "db-1", 6, 6],
      ["web-2", "db-1", 4, 4],
    ]);
    await expect(topologyEdges(ch.client, { ...A, groupBy: "label" })).rejects.toThrow();
  });

  it("gives the same answer from the hourly rollups, and only the org's names", async () => {
    for (const groupBy of ["vpc", "namespace", "pod", "host", "resource", "label"] as const) {
      const q = { ...A, groupBy, labelKey: "app", filters: [f("server_vpc", "eq", "vpc-shop")] };
      const raw = await topologyEdges(ch.client, { ...q, source: "raw" });
      const rolled = await topologyEdges(ch.client, { ...q, source: "rollup" });
      expect(rolled.edges.length, groupBy).toBeGreaterThan(0);
      expect(rolled.edges, groupBy).toEqual(raw.edges);
    }
    const b = await topologyEdges(ch.client, { orgId: ORG_B, from: H, to: H + HOUR, groupBy: "vpc" });
    expect(pairs(b.edges)).toEqual([["vpc-secret-b", "vpc-secret-b", 5, 5]]);
    const labelInjection = await topologyEdges(ch.client, {
      ...A,
      groupBy: "label",
      labelKey: "app'] OR 1=1 --",
    });
    expect(labelInjection.edges.map((e) => e.client)).toEqual([expect.stringMatching(/^no app/)]);
  });
});
