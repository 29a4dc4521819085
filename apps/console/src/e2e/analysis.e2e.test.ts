import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seedDemo, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { analysisFixture, FIXTURE_AGENT_A2, recordRows, upsertTags } from "@flowplane/query";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleSession, openConsoleSession, type RunningConsole, signInAt } from "./server.ts";

// The analysis pages end to end: the small fixed fixture of @flowplane/query (two orgs) in a
// fresh ClickHouse database, the production build, Chromium. Screenshots go to SCREENSHOTS.
const PASSWORD = "e2e-password-1";
export const SCREENSHOTS = mkdtempSync(join(tmpdir(), "flowplane-analysis-e2e-"));

let t: TestDatabase;
let ch: TestClickhouse;
let server: RunningConsole;
let page: Page;
let session: ConsoleSession | undefined;
const pageErrors: string[] = [];

beforeAll(async () => {
  [t, ch] = await Promise.all([
    createTestDatabase("console_analysis_e2e"),
    createTestClickhouse("analysis_e2e"),
  ]);
  const demo = await seedDemo(t.db, { password: PASSWORD });
  const other = await seedOrg(t.db, { name: "Other", slug: "other" });
  // Twenty minutes ago, so the default "last hour" shows all of it.
  const t0 = (Date.now() - 20 * 60_000) * 1000;
  const { a, b } = analysisFixture(demo.orgId, other.id, t0);
  // Resource tags of the demo org (AutoTagging's tables): pods web-1 (both clients) and api-0
  // (10.2.0.1) in namespace shop, mysql-0 (10.3.0.1) in namespace data; the NAT address the
  // server's agent sees (192.168.0.5) stays untagged.
  const POD_OF: Record<string, number> = {
    "10.1.0.1": 101,
    "10.1.0.2": 101,
    "10.2.0.1": 202,
    "10.3.0.1": 201,
  };
  for (const r of [...a.l4, ...a.l7, ...a.network]) {
    r.client_resource_id = POD_OF[r.client_ip as string] ?? 0;
    r.server_resource_id = POD_OF[r.server_ip as string] ?? 0;
  }
  for (const r of a.app) r.server_resource_id = POD_OF[r.server_ip as string] ?? 0;
  await upsertTags(ch.client, {
    orgId: demo.orgId,
    kind: "resource",
    tags: [
      { id: 20, name: "shop" },
      { id: 21, name: "data" },
      { id: 101, name: "web-1" },
      { id: 201, name: "mysql-0" },
      { id: 202, name: "api-0" },
    ],
  });
  await ch.client.insert({
    table: "resource_tags",
    format: "JSONEachRow",
    values: [
      { id: 20, kind: "namespace", namespace_id: 20 },
      { id: 21, kind: "namespace", namespace_id: 21 },
      { id: 101, kind: "pod", namespace_id: 20, pod_id: 101, labels: { app: "web" } },
      { id: 202, kind: "pod", namespace_id: 20, pod_id: 202, labels: { app: "api" } },
      { id: 201, kind: "pod", namespace_id: 21, pod_id: 201, labels: { app: "mysql" } },
    ].map((r) => ({ org_id: demo.orgId, ...r })),
  });
  for (const [org, set] of [
    [demo.orgId, a],
    [other.id, b],
  ] as const) {
    await recordRows(ch.client, "l4_flow_log", org, set.l4);
    await recordRows(ch.client, "l7_flow_log", org, set.l7);
    await recordRows(ch.client, "network_metrics", org, set.network);
    await recordRows(ch.client, "application_metrics", org, set.app);
  }
  session = await openConsoleSession(
    "analysis e2e",
    { databaseUrl: t.url, clickhouseUrl: ch.url, clickhouseDatabase: ch.database },
    { pageErrors, viewport: { width: 1440, height: 900 } },
  );
  ({ server, page } = session);
  await signInAt(page, server.url, "/o/demo/flows", "demo@flowplane.local", PASSWORD);
}, 300_000);

afterAll(async () => {
  await session?.close();
  await Promise.all([t?.drop(), ch?.drop()]);
  console.info(`analysis e2e: screenshots in ${SCREENSHOTS}`);
});

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
const text = async (sel: string) => (await page.textContent(sel).catch(() => "")) ?? "";

describe("analysis pages", () => {
  it("flow logs: count, filter from the URL, row detail with linked L7 rows, CSV export", async () => {
    await page.goto(`${server.url}/o/demo/flows`);
    await expect
      .poll(() => text("[data-testid=flow-total]"), { timeout: 20_000 })
      .toContain("30 flow reports match");
    expect(await text("main")).not.toContain("10.9.9.9");
    await shot("flows");
    await page.goto(`${server.url}/o/demo/flows?range=1h&f=server_port~eq~8080&sort=bytes&dir=desc`);
    await expect.poll(() => text("[data-testid=flow-total]")).toContain("20 flow reports match");
    await page.click(".fp-vt-row >> nth=0");
    await expect.poll(() => text("[aria-label='Flow detail']")).toContain("L7 requests on this flow");
    await expect.poll(async () => page.locator("[data-testid=flow-l7] tbody tr").count()).toBeGreaterThan(0);
    await shot("flow-detail");
    const csv = await page.request.get(`${server.url}/o/demo/flows/export?range=1h&f=server_port~eq~3306`);
    expect(csv.status()).toBe(200);
    expect((await csv.text()).trim().split("\n")).toHaveLength(11);
    const foreign = await page.request.get(`${server.url}/o/other/flows/export?range=1h`);
    expect(foreign.status()).toBe(404);
  });

  it("L7 logs: count and a row opens its trace", async () => {
    await page.goto(`${server.url}/o/demo/l7?range=1h&f=response_status~eq~server_error`);
    await expect
      .poll(() => text("[data-testid=l7-total]"), { timeout: 20_000 })
      .toContain("4 requests match");
    await page.goto(`${server.url}/o/demo/l7`);
    await expect.poll(() => text("[data-testid=l7-total]")).toContain("55 requests match");
    await shot("l7");
    await page.click(".fp-vt-row >> nth=0");
    await page.waitForURL(/\/o\/demo\/traces\?/);
  });

  it("L7 logs: a row of one agent opens the trace seeded by that agent's row", async () => {
    // The server side's agent numbered its flows like the client's (same engine start second):
    // calls on /api/items carry no trace key, so the trace starts from (agent, flow id, sequence).
    await page.goto(
      `${server.url}/o/demo/l7?range=1h&f=agent_id~eq~${FIXTURE_AGENT_A2}&f=endpoint~eq~%2Fapi%2Fitems`,
    );
    await expect
      .poll(() => text("[data-testid=l7-total]"), { timeout: 20_000 })
      .toContain("2 requests match");
    await shot("l7-agent");
    await page.click(".fp-vt-row >> nth=0");
    await page.waitForURL(new RegExp(`/o/demo/traces\\?.*agent=${FIXTURE_AGENT_A2}`));
    expect(new URL(page.url()).searchParams.get("seq")).toBe("5003");
    await expect
      .poll(() => text("main"), { timeout: 20_000 })
      .toContain("2 spans across 2 agents · 1 problem");
    // The client side's span joined by TCP sequence only, not taken as a second seed.
    expect(await text("[data-testid=trace-breaks]")).toContain("no trace key at span 1");
    await shot("trace-from-agent-row");
  });

  it("topology: edges with rate, errors, p95, bytes and retransmissions", async () => {
    await page.goto(`${server.url}/o/demo/topology`);
    await expect
      .poll(() => text("[data-testid=topology-edges]"), { timeout: 20_000 })
      .toContain("10.2.0.1:8080");
    const edges = await text("[data-testid=topology-edges]");
    expect(edges).toContain("10.3.0.1:3306");
    expect(edges).toContain("10.0 %");
    expect(edges).not.toContain("10.9.9.10");
    await expect.poll(async () => page.locator(".react-flow__node").count()).toBeGreaterThanOrEqual(5);
    expect(await text("[data-testid=topology-range]")).toContain("(raw flows and requests)");
    await shot("topology");
  });

  it("topology: grouped by a resource tag level, from the hourly rollups over 24 h, drills by tag", async () => {
    await page.goto(`${server.url}/o/demo/topology?range=24h&group=namespace`);
    await expect.poll(() => text("[data-testid=topology-edges]"), { timeout: 20_000 }).toContain("data");
    const rows = await page.locator("[data-testid=topology-edges] tbody tr").allTextContents();
    expect(rows.map((r) => r.split(/\d/)[0]).sort()).toEqual(["shopdata", "shopshop", "untaggedshop"]);
    expect(await text("[data-testid=topology-range]")).toMatch(/showing .*:00.*:00 UTC, whole hours/);
    expect(await page.inputValue("select[aria-label='Group by']")).toBe("namespace");
    await shot("topology-namespace");
    await page.goto(`${server.url}/o/demo/topology?range=1h&group=label&labelKey=app`);
    await expect.poll(() => text("[data-testid=topology-edges]")).toContain("app=mysql");
    expect(await text("[data-testid=topology-edges]")).toContain("app=web");
    const edge = page.locator("[data-testid=topology-edges] tbody tr", { hasText: "app=mysql" });
    await edge.locator("button", { hasText: "flows" }).click();
    await page.waitForURL(/\/o\/demo\/flows\?/);
    const f = new URL(page.url()).searchParams.getAll("f");
    expect(f).toEqual(["client_label~eq~app=web", "server_label~eq~app=mysql"]);
    await expect.poll(() => text("[data-testid=flow-total]")).toContain("10 flow reports match");
    await shot("topology-label-drill");
  });

  it("traces: waterfall across agents, and where a trace breaks", async () => {
    await page.goto(`${server.url}/o/demo/traces?range=1h&trace=trace-ok`);
    await expect
      .poll(() => text("main"), { timeout: 20_000 })
      .toContain("2 spans across 2 agents · complete");
    await shot("trace-ok");
    await page.goto(`${server.url}/o/demo/traces?range=1h&trace=trace-broken`);
    await expect.poll(() => text("[data-testid=trace-breaks]")).toContain("missing hop");
    expect(await text("[data-testid=trace-breaks]")).toContain("no trace key");
    await shot("trace-broken");
  });

  it("metrics: RED with Apdex and TCP per server", async () => {
    await page.goto(`${server.url}/o/demo/metrics?range=1h&apdex=20`);
    await expect.poll(() => text("[data-testid=red-table]"), { timeout: 20_000 }).toContain("10.2.0.1:8080");
    const red = await text("[data-testid=red-table]");
    expect(red).toContain("100");
    expect(red).toContain("0.90");
    expect(await text("[data-testid=tcp-table]")).toContain("200.0 KB");
    await shot("metrics");
    // Per server namespace (tags resolved at query time), then per app label within shop.
    await page.goto(`${server.url}/o/demo/metrics?range=1h&by=namespace`);
    await expect.poll(() => text("[data-testid=red-table]"), { timeout: 20_000 }).toContain("shop");
    expect(await text("[data-testid=tcp-table]")).toContain("shop");
    await page.goto(
      `${server.url}/o/demo/metrics?range=1h&by=label&labelKey=app&f=server_namespace~eq~shop&f=client_pod~eq~web-1`,
    );
    await expect.poll(() => text("[data-testid=red-table]"), { timeout: 20_000 }).toContain("app=api");
    expect(await text("[data-testid=tcp-table]")).toContain("200.0 KB");
    expect(await text("[data-testid=metrics-skips]")).toContain("RED ignores Client pod");
    await shot("metrics-by-label");
    expect(pageErrors).toEqual([]);
  });
});
