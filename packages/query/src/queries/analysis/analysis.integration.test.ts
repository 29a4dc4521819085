import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordRows } from "../../client.ts";
import { LATENCY_BUCKET_BOUNDS_US } from "../../rows/index.ts";
import { createTestClickhouse, type TestClickhouse } from "../../testing.ts";
import { l4Row, l7Row, ORG_A, ORG_B } from "../../testing-fixtures.ts";
import { cidrBounds, FilterError, type TFilter } from "./filters.ts";
import { analysisFixture, FIXTURE_AGENT_A1, FIXTURE_AGENT_A2 } from "./fixture.ts";
import { redMetrics, tcpMetrics } from "./metrics.ts";
import {
  flowDetail,
  flowLogCount,
  flowLogCsv,
  flowLogPage,
  l7LogCount,
  l7LogPage,
  timeSteps,
} from "./page.ts";
import { latencyBucketsSql, topologyEdges } from "./topology.ts";
import { assembleTrace } from "./trace.ts";

let ch: TestClickhouse;
const T0 = 1_764_150_000_000_000;
const RANGE = { from: T0 - 60_000_000, to: T0 + 1_800_000_000 };
const A = { orgId: ORG_A, ...RANGE };

beforeAll(async () => {
  ch = await createTestClickhouse("analysis");
  const { a, b } = analysisFixture(ORG_A, ORG_B, T0);
  for (const [org, set] of [
    [ORG_A, a],
    [ORG_B, b],
  ] as const) {
    for (const [table, rows] of [
      ["l4_flow_log", set.l4],
      ["l7_flow_log", set.l7],
      ["network_metrics", set.network],
      ["application_metrics", set.app],
    ] as const) {
      const r = await recordRows(ch.client, table, org, rows);
      expect(r.rejected).toEqual([]);
    }
  }
});
afterAll(async () => {
  await ch?.drop();
});

const f = (column: string, op: TFilter["op"], value: TFilter["value"]): TFilter => ({ column, op, value });

describe("flow and L7 log pages", () => {
  it("counts exactly with each filter op", async () => {
    expect(await flowLogCount(ch.client, A)).toBe(30);
    expect(await flowLogCount(ch.client, { ...A, filters: [f("server_port", "eq", 8080)] })).toBe(20);
    expect(await flowLogCount(ch.client, { ...A, filters: [f("client_ip", "cidr", "10.1.0.0/24")] })).toBe(
      30,
    );
    expect(await flowLogCount(ch.client, { ...A, filters: [f("client_ip", "cidr", "10.1.0.2/32")] })).toBe(
      10,
    );
    expect(await flowLogCount(ch.client, { ...A, filters: [f("l7_protocol", "in", ["mysql", "dns"])] })).toBe(
      10,
    );
    expect(await flowLogCount(ch.client, { ...A, filters: [f("close_type", "neq", "fin")] })).toBe(1);
    expect(await flowLogCount(ch.client, { ...A, filters: [f("bytes", "range", [10_000, 10_000])] })).toBe(
      30,
    );
    expect(await l7LogCount(ch.client, A)).toBe(55);
    expect(await l7LogCount(ch.client, { ...A, filters: [f("endpoint", "contains", "CART")] })).toBe(23);
    expect(await l7LogCount(ch.client, { ...A, filters: [f("response_status", "eq", "server_error")] })).toBe(
      4,
    );
    expect(await l7LogCount(ch.client, { ...A, filters: [f("response_code", "in", [500])] })).toBe(4);
    expect(
      await l7LogCount(ch.client, { ...A, filters: [f("response_duration_us", "range", [1000, 5000])] }),
    ).toBe(19);
  });

  it("pages with a cursor in either direction over any sort key, without gaps or repeats", async () => {
    for (const [sort, dir] of [
      ["end_time", "desc"],
      ["bytes", "asc"],
      ["rtt_us", "desc"],
    ] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await flowLogPage(ch.client, { ...A, sort, dir, limit: 7, cursor });
        seen.push(...page.rows.map((r) => r.flow_id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(30);
      expect(new Set(seen).size).toBe(30);
    }
    const durations: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await l7LogPage(ch.client, {
        ...A,
        sort: "response_duration_us",
        dir: "asc",
        limit: 10,
        cursor,
      });
      durations.push(...page.rows.map((r) => r.response_duration_us));
      cursor = page.nextCursor;
    } while (cursor);
    expect(durations).toHaveLength(55);
    expect([...durations].sort((x, y) => x - y)).toEqual(durations);
  });

  it("pages a time sort across its hour windows in order (rows 2 h and 8 h back)", async () => {
    const { a } = analysisFixture(ORG_A, ORG_B, T0);
    const old = [2, 8, 9].map((h, i) => ({
      ...a.l4[0],
      flow_id: String(9000 + i),
      start_time: T0 - h * 3_600_000_000,
      end_time: T0 - h * 3_600_000_000 + 1000,
    }));
    expect((await recordRows(ch.client, "l4_flow_log", ORG_A, old)).rejected).toEqual([]);
    const wide = { orgId: ORG_A, from: T0 - 10 * 3_600_000_000, to: RANGE.to };
    for (const dir of ["desc", "asc"] as const) {
      const times: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await flowLogPage(ch.client, { ...wide, dir, limit: 4, cursor });
        times.push(...page.rows.map((r) => r.end_time));
        cursor = page.nextCursor;
      } while (cursor);
      expect(times).toHaveLength(33);
      const sorted = [...times].sort((x, y) => (dir === "asc" ? x - y : y - x));
      expect(times).toEqual(sorted);
    }
    expect(timeSteps(0, 10 * 3_600_000_000, "desc")).toEqual([
      [9 * 3_600_000_000, 10 * 3_600_000_000],
      [4 * 3_600_000_000, 9 * 3_600_000_000],
      [0, 4 * 3_600_000_000],
    ]);
    expect(timeSteps(0, 1000, "asc")).toEqual([[0, 1000]]);
  });

  it("shows a flow's reports with its linked L7 rows", async () => {
    const d = await flowDetail(ch.client, {
      orgId: ORG_A,
      flowId: "1000",
      agentId: FIXTURE_AGENT_A1,
      at: T0,
    });
    expect(d.reports).toHaveLength(1);
    expect(d.l7).toHaveLength(2);
    // The server-side agent saw the same calls on its own flow 1000 (same engine start second).
    const server = await flowDetail(ch.client, {
      orgId: ORG_A,
      flowId: "1000",
      agentId: FIXTURE_AGENT_A2,
      at: T0,
    });
    expect(server.reports).toEqual([]);
    expect(server.l7.map((r) => r.client_ip)).toEqual(["192.168.0.5", "192.168.0.5"]);
    expect(
      (await flowDetail(ch.client, { orgId: ORG_B, flowId: "1000", agentId: FIXTURE_AGENT_A1, at: T0 })).l7,
    ).toHaveLength(0);
  });

  it("exports the filtered flows as CSV", async () => {
    let text = "";
    for await (const chunk of flowLogCsv(ch.client, { ...A, filters: [f("server_port", "eq", 3306)] }))
      text += chunk;
    const lines = text.trim().split("\n");
    expect(lines).toHaveLength(11);
    expect(lines[0]).toMatch(/^start_time,end_time,client_ip/);
    expect(lines.slice(1).every((l) => l.includes(",10.3.0.1,3306,"))).toBe(true);
  });
});

describe("tenant isolation and crafted filter input", () => {
  it("never surfaces another org's rows, whatever the filter", async () => {
    expect(await l7LogCount(ch.client, { ...A, filters: [f("endpoint", "eq", "/secret-b")] })).toBe(0);
    expect(await flowLogCount(ch.client, { ...A, filters: [f("client_ip", "cidr", "0.0.0.0/0")] })).toBe(30);
    expect(await flowLogCount(ch.client, { ...A, filters: [f("client_ip", "cidr", "::/0")] })).toBe(30);
    expect(
      await flowLogCount(ch.client, {
        ...A,
        filters: [f("agent_id", "neq", "0190a1b2-0000-7000-8000-0000000000a1")],
      }),
    ).toBe(0);
    const b = await flowLogPage(ch.client, { ...A, orgId: ORG_B });
    expect(b.rows.map((r) => r.client_ip)).toEqual(Array(5).fill("10.9.9.9"));
  });

  it("binds injection attempts in values as plain values", async () => {
    for (const v of [
      "x' OR 1=1 --",
      "') OR org_id != toUUID('00000000-0000-0000-0000-000000000000",
      "\\' OR 1 --",
    ]) {
      expect(await l7LogCount(ch.client, { ...A, filters: [f("endpoint", "eq", v)] })).toBe(0);
      expect(await l7LogCount(ch.client, { ...A, filters: [f("endpoint", "contains", v)] })).toBe(0);
      expect(await l7LogCount(ch.client, { ...A, filters: [f("endpoint", "neq", v)] })).toBe(55);
    }
  });

  it("refuses unknown columns, wrong types and bad CIDRs", async () => {
    const bad: TFilter[] = [
      f("org_id", "neq", ORG_A),
      f("server_port; DROP TABLE l4_flow_log", "eq", 1),
      f("1=1 OR server_port", "eq", 1),
      f("__proto__", "eq", 1),
      f("constructor", "eq", 1),
      f("client_ip", "eq", "10.0.0.1' OR '1'='1"),
      f("server_port", "eq", "80 OR 1=1"),
      f("server_port", "eq", 70_000),
      f("client_ip", "cidr", "10.0.0.0/33"),
      f("endpoint", "cidr", "10.0.0.0/8"),
      f("endpoint", "range", ["a", "z"]),
      f("agent_id", "eq", "not-a-uuid"),
    ];
    for (const filter of bad) {
      await expect(flowLogCount(ch.client, { ...A, filters: [filter] })).rejects.toThrow(FilterError);
    }
    await expect(flowLogPage(ch.client, { ...A, cursor: "eyJhIjoxfQ" })).rejects.toThrow(FilterError);
  });

  it("computes CIDR bounds", () => {
    expect(cidrBounds("10.1.0.0/16")).toEqual(["0:0:0:0:0:ffff:a01:0", "0:0:0:0:0:ffff:a01:ffff"]);
    expect(cidrBounds("2001:db8::/32")).toEqual([
      "2001:db8:0:0:0:0:0:0",
      "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
    ]);
  });
});

describe("topology", () => {
  it("builds edges with RED from L7 and bytes/retransmissions from L4", async () => {
    const { edges, source } = await topologyEdges(ch.client, { ...A, groupBy: "service" });
    expect(source).toBe("raw");
    const web = edges.find((e) => e.client === "10.1.0.1" && e.server === "10.2.0.1:8080");
    expect(web).toMatchObject({
      requests: 40,
      errors: 4,
      errorPct: 10,
      bytes: 200_000,
      retrans: 20,
      flows: 20,
    });
    expect(edges.find((e) => e.client === "192.168.0.5")?.requests).toBe(5);
    expect(edges.find((e) => e.server === "10.3.0.1:3306")).toMatchObject({ requests: 10, bytes: 100_000 });
    expect(edges.some((e) => e.client.startsWith("10.9.") || e.server.startsWith("10.9."))).toBe(false);
    const byProto = await topologyEdges(ch.client, { ...A, groupBy: "l7_protocol" });
    expect(byProto.edges.find((e) => e.client === "10.1.0.2")?.server).toBe("mysql");
    const byPort = await topologyEdges(ch.client, { ...A, groupBy: "port" });
    expect(byPort.edges.find((e) => e.client === "10.1.0.1")).toMatchObject({
      server: "port 8080",
      requests: 40,
    });
    const filtered = await topologyEdges(ch.client, { ...A, filters: [f("server_port", "eq", 3306)] });
    expect(filtered.edges).toHaveLength(1);
  });

  it("keeps the busiest edges by key before naming nodes, with the figures of the whole answer", async () => {
    // ip/service/port/agent/group name nodes one-to-one: each side picks its top `limit` edges
    // by key and formats only those; the top edge is the unlimited answer's, named the same.
    for (const groupBy of ["ip", "service", "port", "agent", "group", "l7_protocol"] as const) {
      for (const source of ["raw", "rollup"] as const) {
        const day = { orgId: ORG_A, from: T0 - 20 * 3_600_000_000, to: T0 + 3_600_000_000, groupBy, source };
        const all = await topologyEdges(ch.client, day);
        const top = await topologyEdges(ch.client, { ...day, limit: 1 });
        expect(all.edges.length).toBeGreaterThan(1);
        const [first] = top.edges;
        expect(first?.requests).toBe(all.edges[0]?.requests);
        const same = all.edges.find((e) => e.client === first?.client && e.server === first?.server);
        expect(same && { ...same, bytes: 0, retrans: 0, flows: 0 }).toEqual({
          ...first,
          bytes: 0,
          retrans: 0,
          flows: 0,
        });
      }
    }
  });

  it("reads the hourly edge rollups for long ranges, with the raw figures for the same hours", async () => {
    const day = { orgId: ORG_A, from: T0 - 20 * 3_600_000_000, to: T0 + 3_600_000_000 };
    const { edges, source, from, to } = await topologyEdges(ch.client, { ...day, groupBy: "service" });
    expect(source).toBe("rollup");
    expect([from % 3_600_000_000, to % 3_600_000_000]).toEqual([0, 0]);
    expect(edges.find((e) => e.client === "10.1.0.1" && e.server === "10.2.0.1:8080")).toMatchObject({
      requests: 40,
      errors: 4,
      // The fixture's 20 flows, and 3 more 2 h and 8 h back written by the paging test above.
      bytes: 230_000,
      retrans: 23,
      flows: 23,
    });
    for (const groupBy of ["ip", "service", "port", "agent", "l7_protocol", "group", "resource"] as const) {
      const q = { orgId: ORG_A, from, to, groupBy };
      const raw = await topologyEdges(ch.client, { ...q, source: "raw" });
      const rolled = await topologyEdges(ch.client, { ...q, source: "rollup" });
      expect(rolled.source).toBe("rollup");
      expect(rolled.edges.length, groupBy).toBeGreaterThan(0);
      expect(rolled.edges, groupBy).toEqual(raw.edges);
    }
    const filtered = { orgId: ORG_A, from, to, filters: [f("client_ip", "cidr", "10.1.0.0/24")] };
    expect((await topologyEdges(ch.client, filtered)).edges).toEqual(
      (await topologyEdges(ch.client, { ...filtered, source: "raw" })).edges,
    );
    // A column the rollups do not keep sends a long range to the raw rows.
    const byEndpoint = await topologyEdges(ch.client, {
      ...day,
      filters: [f("endpoint", "eq", "/api/cart")],
    });
    expect(byEndpoint.source).toBe("raw");
    expect(byEndpoint.edges.find((e) => e.client === "10.1.0.1")?.requests).toBe(20);
    await expect(
      topologyEdges(ch.client, { ...day, source: "rollup", filters: [f("endpoint", "eq", "/api/cart")] }),
    ).rejects.toThrow(FilterError);
  });

  it("keeps the edge rollups' latency buckets as the rows' bucket bounds", () => {
    const ddl = readFileSync(new URL("../../ddl/0009_l7_edge_latency_columns.sql", import.meta.url), "utf8");
    const mv = ddl.slice(ddl.indexOf("CREATE MATERIALIZED VIEW IF NOT EXISTS l7_edge_lat_1h_mv"));
    const bounds = [...mv.matchAll(/response_duration_us <= (\d+)/g)].map((m) => Number(m[1]));
    expect(bounds).toEqual([...LATENCY_BUCKET_BOUNDS_US]);
    expect(latencyBucketsSql("d")).toContain(`countIf(d > ${LATENCY_BUCKET_BOUNDS_US.at(-1)})`);
  });
});

describe("traces", () => {
  it("joins both sides of a call across agents and NAT", async () => {
    const t = await assembleTrace(ch.client, { ...A, traceId: "trace-ok" });
    expect(t.spans).toHaveLength(2);
    expect(t.spans[1]?.parent).toBe(0);
    expect(t.spans[1]?.peer).toBe(0);
    expect(t.spans[1]?.row.client_ip).toBe("192.168.0.5");
    expect(t.breaks).toEqual([]);
  });

  it("says where a trace breaks and why", async () => {
    const t = await assembleTrace(ch.client, { ...A, traceId: "trace-broken" });
    expect(t.spans).toHaveLength(2);
    expect(t.breaks.map((b) => [b.span, b.kind])).toEqual([
      [0, "missing_hop"],
      [1, "no_trace_key"],
    ]);
    const late = await assembleTrace(ch.client, {
      orgId: ORG_A,
      from: T0 + 1_000_000,
      to: T0 + 60_000_000,
      traceId: "trace-ok",
    });
    expect(late.spans).toHaveLength(2);
    expect(late.breaks.filter((b) => b.kind === "outside_range")).toHaveLength(2);
    const none = await assembleTrace(ch.client, { ...A, traceId: "trace-nope" });
    expect(none.spans).toEqual([]);
  });

  it("starts from an L7 row without a trace key", async () => {
    const t = await assembleTrace(ch.client, {
      ...A,
      flowId: "1001",
      reqTcpSeq: 5003,
      agentId: FIXTURE_AGENT_A2,
    });
    // Seeded by the server side's row only; the client side joins by TCP sequence (no trace key).
    expect(t.spans.map((s) => [s.row.agent_id, s.linkedBy])).toEqual([
      [FIXTURE_AGENT_A1, "tcp_seq"],
      [FIXTURE_AGENT_A2, "seed"],
    ]);
    expect(t.breaks.map((b) => [b.span, b.kind])).toEqual([[0, "no_trace_key"]]);
    await expect(assembleTrace(ch.client, { ...A, flowId: "1001", reqTcpSeq: 5003 })).rejects.toThrow(
      /agent id/,
    );
  });

  it("keys flow detail and trace seeds on the agent: two agents of one org share a flow id", async () => {
    // Two unrelated flows, three days after the fixture, numbered 77 by two agents started in
    // the same second.
    const t1 = T0 + 3 * 86_400_000_000;
    const X = "0190a1b2-0000-7000-8000-0000000000c1";
    const Y = "0190a1b2-0000-7000-8000-0000000000c2";
    const side = (agent: string, i: number) => ({
      agent_id: agent,
      flow_id: "77",
      client_ip: `10.77.0.${i}`,
      start_time: t1 + i * 1000,
    });
    const l4 = [X, Y].map((a, i) => l4Row({ ...side(a, i + 1), end_time: t1 + 500_000 + i }));
    const l7 = [X, Y].map((a, i) =>
      l7Row({
        ...side(a, i + 1),
        end_time: t1 + 2000 + i * 1000,
        trace_id: "",
        span_id: "",
        parent_span_id: "",
        x_request_id: "",
        req_tcp_seq: 700 + i,
        resp_tcp_seq: 800 + i,
      }),
    );
    expect((await recordRows(ch.client, "l4_flow_log", ORG_A, l4)).rejected).toEqual([]);
    expect((await recordRows(ch.client, "l7_flow_log", ORG_A, l7)).rejected).toEqual([]);
    for (const [agent, ip] of [
      [X, "10.77.0.1"],
      [Y, "10.77.0.2"],
    ] as const) {
      const d = await flowDetail(ch.client, { orgId: ORG_A, flowId: "77", agentId: agent, at: t1 });
      expect(d.reports.map((r) => [r.agent_id, r.client_ip])).toEqual([[agent, ip]]);
      expect(d.l7.map((r) => [r.agent_id, r.client_ip])).toEqual([[agent, ip]]);
      const t = await assembleTrace(ch.client, {
        orgId: ORG_A,
        from: t1 - 60_000_000,
        to: t1 + 60_000_000,
        flowId: "77",
        agentId: agent,
      });
      expect(t.spans.map((s) => [s.row.agent_id, s.row.client_ip, s.linkedBy])).toEqual([
        [agent, ip, "seed"],
      ]);
    }
    // The other org never sees them, whichever agent is named.
    expect(await flowDetail(ch.client, { orgId: ORG_B, flowId: "77", agentId: X, at: t1 })).toEqual({
      reports: [],
      l7: [],
    });
  });
});

describe("metrics", () => {
  it("gives RED and Apdex per service and endpoint; rollup and raw agree", async () => {
    const raw = await redMetrics(ch.client, { ...A, apdexMs: 5 });
    expect(raw.source).toBe("raw");
    expect(raw.rows).toHaveLength(1);
    expect(raw.rows[0]).toMatchObject({
      service: "10.2.0.1:8080",
      requests: 100,
      errors: 10,
      errorPct: 10,
      apdex: 0.8,
    });
    const rolled = await redMetrics(ch.client, { ...A, apdexMs: 5, source: "rollup" });
    expect(rolled.source).toBe("rollup");
    expect(rolled.rows).toEqual(raw.rows);
    expect((await redMetrics(ch.client, { ...A, apdexMs: 20 })).rows[0]?.apdex).toBe(0.9);
    const byEndpoint = await redMetrics(ch.client, { ...A, by: "endpoint" });
    expect(byEndpoint.rows.map((r) => [r.endpoint, r.requests]).sort()).toEqual([
      ["/api/cart", 50],
      ["/api/items", 50],
    ]);
    expect((await redMetrics(ch.client, { ...A, groupId: 2 })).rows).toEqual([]);
  });

  it("gives TCP health per server; rollup and raw agree", async () => {
    const raw = await tcpMetrics(ch.client, A);
    expect(raw.rows).toEqual([
      {
        service: "10.2.0.1:8080",
        bytes: 200_000,
        flows: 20,
        rttAvgUs: 200,
        retrans: 20,
        zeroWin: 1,
        resets: 1,
        timeouts: 0,
      },
    ]);
    expect((await tcpMetrics(ch.client, { ...A, source: "rollup" })).rows).toEqual(raw.rows);
  });

  it("reads the hourly rollups above 6 h, with the raw figures", async () => {
    const day = { orgId: ORG_A, from: T0 - 20 * 3_600_000_000, to: T0 + 3_600_000_000 };
    const red = await redMetrics(ch.client, { ...day, by: "endpoint" });
    expect(red.tier).toBe("1h");
    expect(red.rows).toEqual((await redMetrics(ch.client, { ...day, by: "endpoint", source: "raw" })).rows);
    expect(red.rows.map((r) => r.requests)).toEqual([50, 50]);
    const tcp = await tcpMetrics(ch.client, day);
    expect(tcp.tier).toBe("1h");
    expect(tcp.rows).toEqual((await tcpMetrics(ch.client, { ...day, source: "raw" })).rows);
    expect(tcp.rows[0]).toMatchObject({ bytes: 200_000, flows: 20, resets: 1 });
    expect((await tcpMetrics(ch.client, { ...day, from: T0 - 3 * 3_600_000_000 })).tier).toBe("1m");
  });
});
