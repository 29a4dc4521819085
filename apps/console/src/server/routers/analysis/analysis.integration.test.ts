import { seedMembership, seedOrg, seedUser } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import {
  analysisFixture,
  FIXTURE_AGENT_A1,
  FIXTURE_AGENT_A2,
  FIXTURE_AGENT_B,
  recordRows,
} from "@flowplane/query";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContext } from "../../trpc/context.ts";
import { createCaller } from "../_app.ts";
import { codeOf } from "../test-callers.ts";
import { setAnalysisClickhouse } from "./shared.ts";

// Real Postgres (orgs, members) and ClickHouse (telemetry of two orgs), the real router.
let t: TestDatabase;
let ch: TestClickhouse;
const T0 = 1_764_150_000_000_000;
const RANGE = { from: T0 - 60_000_000, to: T0 + 1_800_000_000 };
let memberA: string;

const asUser = async (userId: string) =>
  createCaller(await createContext({ db: t.db, claims: { userId, sessionVersion: 0 } }));

beforeAll(async () => {
  [t, ch] = await Promise.all([
    createTestDatabase("console_analysis"),
    createTestClickhouse("console_analysis"),
  ]);
  setAnalysisClickhouse(ch.client);
  const orgA = await seedOrg(t.db, { name: "Alpha", slug: "alpha" });
  const orgB = await seedOrg(t.db, { name: "Beta", slug: "beta" });
  memberA = (await seedUser(t.db, { email: "viewer@alpha.test" })).id;
  await seedMembership(t.db, { orgId: orgA.id, userId: memberA, role: "viewer" });
  const { a, b } = analysisFixture(orgA.id, orgB.id, T0);
  for (const [org, set] of [
    [orgA.id, a],
    [orgB.id, b],
  ] as const) {
    await recordRows(ch.client, "l4_flow_log", org, set.l4);
    await recordRows(ch.client, "l7_flow_log", org, set.l7);
    await recordRows(ch.client, "network_metrics", org, set.network);
    await recordRows(ch.client, "application_metrics", org, set.app);
  }
});
afterAll(async () => {
  setAnalysisClickhouse(undefined);
  await Promise.all([t?.drop(), ch?.drop()]);
});

describe("analysis procedures", () => {
  it("a member of A sees A's rows only", async () => {
    const c = await asUser(memberA);
    const flows = await c.analysis.flows({ orgSlug: "alpha", ...RANGE, limit: 500 });
    expect(flows.total).toBe(30);
    expect(flows.rows.every((r) => !r.client_ip.startsWith("10.9."))).toBe(true);
    const l7 = await c.analysis.l7({
      orgSlug: "alpha",
      ...RANGE,
      filters: [{ column: "endpoint", op: "eq", value: "/secret-b" }],
    });
    expect(l7.total).toBe(0);
    const topo = await c.analysis.topology({ orgSlug: "alpha", ...RANGE });
    expect(topo.edges.map((e) => e.server).sort()).toEqual([
      "10.2.0.1:8080",
      "10.2.0.1:8080",
      "10.3.0.1:3306",
    ]);
    const trace = await c.analysis.trace({ orgSlug: "alpha", ...RANGE, traceId: "trace-ok" });
    expect(trace.spans).toHaveLength(2);
    const m = await c.analysis.metrics({ orgSlug: "alpha", ...RANGE });
    expect(m.red.map((r) => [r.service, r.requests])).toEqual([["10.2.0.1:8080", 100]]);
    expect(m.tcp).toHaveLength(1);
    const d = await c.analysis.flowDetail({
      orgSlug: "alpha",
      flowId: "1000",
      agentId: FIXTURE_AGENT_A1,
      at: T0,
    });
    expect(d.l7.map((r) => r.agent_id)).toEqual([FIXTURE_AGENT_A1, FIXTURE_AGENT_A1]);
    // The server side's agent numbered its own flow 1000 too: the trace starts from the chosen one.
    const seeded = await c.analysis.trace({
      orgSlug: "alpha",
      ...RANGE,
      flowId: "1001",
      reqTcpSeq: 5003,
      agentId: FIXTURE_AGENT_A2,
    });
    expect(seeded.spans.map((s) => [s.row.agent_id, s.linkedBy])).toEqual([
      [FIXTURE_AGENT_A1, "tcp_seq"],
      [FIXTURE_AGENT_A2, "seed"],
    ]);
    expect(await codeOf(c.analysis.trace({ orgSlug: "alpha", ...RANGE, flowId: "1001" }))).toBe(
      "BAD_REQUEST",
    );
  });

  it("a member of A asking with B's slug gets NOT_FOUND", async () => {
    const c = await asUser(memberA);
    expect(await codeOf(c.analysis.flows({ orgSlug: "beta", ...RANGE }))).toBe("NOT_FOUND");
    expect(await codeOf(c.analysis.l7({ orgSlug: "beta", ...RANGE }))).toBe("NOT_FOUND");
    expect(await codeOf(c.analysis.topology({ orgSlug: "beta", ...RANGE }))).toBe("NOT_FOUND");
    expect(await codeOf(c.analysis.trace({ orgSlug: "beta", ...RANGE, traceId: "trace-ok" }))).toBe(
      "NOT_FOUND",
    );
    expect(await codeOf(c.analysis.metrics({ orgSlug: "beta", ...RANGE }))).toBe("NOT_FOUND");
    expect(
      await codeOf(
        c.analysis.flowDetail({ orgSlug: "beta", flowId: "3000", agentId: FIXTURE_AGENT_B, at: T0 }),
      ),
    ).toBe("NOT_FOUND");
  });

  it("refuses crafted filters with BAD_REQUEST", async () => {
    const c = await asUser(memberA);
    const bad = [
      { column: "org_id", op: "neq" as const, value: "x" },
      { column: "client_ip", op: "eq" as const, value: "1' OR 1=1" },
    ];
    for (const f of bad)
      expect(await codeOf(c.analysis.flows({ orgSlug: "alpha", ...RANGE, filters: [f] }))).toBe(
        "BAD_REQUEST",
      );
    for (const f of bad)
      expect(await codeOf(c.analysis.metrics({ orgSlug: "alpha", ...RANGE, filters: [f] }))).toBe(
        "BAD_REQUEST",
      );
    expect(await codeOf(c.analysis.metrics({ orgSlug: "alpha", ...RANGE, by: "label" }))).toBe("BAD_REQUEST");
  });

  it("metrics take tag filters and group by server tag; each filter goes to the tables holding its column", async () => {
    const c = await asUser(memberA);
    const eq = (column: string, value: string) => ({ column, op: "eq" as const, value });
    // The fixture's rows are untagged: a tag name matches nothing, grouping gives one untagged row.
    const none = await c.analysis.metrics({
      orgSlug: "alpha",
      ...RANGE,
      filters: [eq("server_vpc", "vpc-x")],
    });
    expect([none.red, none.tcp, none.appSeries, none.netSeries]).toEqual([[], [], [], []]);
    const client = await c.analysis.metrics({
      orgSlug: "alpha",
      ...RANGE,
      filters: [eq("client_vpc", "vpc-x")],
    });
    expect([client.red.length, client.tcp.length, client.redSkips, client.tcpSkips]).toEqual([
      1,
      0,
      ["client_vpc"],
      [],
    ]);
    const byVpc = await c.analysis.metrics({ orgSlug: "alpha", ...RANGE, by: "vpc" });
    expect(byVpc.red.map((r) => [r.service, r.requests])).toEqual([["untagged", 100]]);
    expect(byVpc.tcp.map((r) => r.service)).toEqual(["untagged"]);
    const byLabel = await c.analysis.metrics({ orgSlug: "alpha", ...RANGE, by: "label", labelKey: "app" });
    expect(byLabel.red.map((r) => r.service)).toEqual(["no app"]);
  });
});
