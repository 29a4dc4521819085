import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canaryIds } from "@flowplane/db";
import {
  DEFAULT_AGENT_CONFIG,
  seedAgent,
  seedDemo,
  seedMembership,
  seedOrg,
  seedUser,
} from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { recordAgentHealth } from "@flowplane/query";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleSession, openConsoleSession, type RunningConsole, signInAt } from "./server.ts";

// The fleet pages end to end (group rollout progress, agent health history, hidden and archived
// agents, data nodes) on fixed fixtures in fresh Postgres and ClickHouse databases, the production
// build and Chromium; as the owner, then as a viewer who is offered no action.
const PASSWORD = "e2e-password-1";
const VIEWER = "viewer@fleet.test";
export const SCREENSHOTS = mkdtempSync(join(tmpdir(), "flowplane-fleet-e2e-"));
const DAY_MS = 86_400_000;

let t: TestDatabase;
let ch: TestClickhouse;
let server: RunningConsole;
let browser: BrowserContext;
let page: Page;
let session: ConsoleSession | undefined;
const pageErrors: string[] = [];
const f = {} as {
  groupId: string;
  agents: { id: string; name: string }[];
  failedCanary: string;
  /** "0 applied · 1 failed · N pending · M held back" as the panel should say it. */
  counts: string;
  silent: string;
  archived: string;
  foreignAgent: string;
  /** A live agent whose last heartbeat says it sheds load. */
  shedding: string;
};

beforeAll(async () => {
  [t, ch] = await Promise.all([createTestDatabase("console_fleet_e2e"), createTestClickhouse("fleet_e2e")]);
  const demo = await seedDemo(t.db, { password: PASSWORD });
  const viewer = await seedUser(t.db, { email: VIEWER, password: PASSWORD });
  await seedMembership(t.db, { orgId: demo.orgId, userId: viewer.id, role: "viewer" });
  const other = await seedOrg(t.db, { name: "Other", slug: "other" });

  const agents = [];
  for (let i = 0; i < 6; i++) agents.push(await seedAgent(t.db, demo.orgId, demo.groupId));
  const foreign = await seedAgent(t.db, other.id);
  // Revision 2 is being rolled out to a 50 % canary share; one canary failed it.
  await t.db.unsafe.agentGroupConfig.create({
    data: {
      orgId: demo.orgId,
      groupId: demo.groupId,
      revision: 2,
      config: { ...DEFAULT_AGENT_CONFIG, capture: { ...DEFAULT_AGENT_CONFIG.capture, interfaces: ["eth9"] } },
    },
  });
  const live = agents.slice(0, 4).map((a) => a.id);
  await t.db.unsafe.agent.updateMany({ where: { id: { in: live } }, data: { appliedRevision: 1 } });
  await t.db.unsafe.agentGroup.update({
    where: { id: demo.groupId },
    data: {
      currentRevision: 2,
      stableRevision: 1,
      canaryPercent: 50,
      canaryHoldS: 600,
      rolloutRevision: 2,
      rolloutState: "canary",
      rolloutStartedAt: new Date(Date.now() - 60_000),
    },
  });
  // Agents 4 and 5: long silent (hidden by default) and archived.
  const silent = agents[4]?.id as string;
  const archived = agents[5]?.id as string;
  await t.db.unsafe.agent.update({
    where: { id: silent },
    data: { state: "offline", lastSeenAt: new Date(Date.now() - 3 * DAY_MS) },
  });
  await t.db.unsafe.agent.update({
    where: { id: archived },
    data: { state: "offline", lastSeenAt: new Date(Date.now() - 40 * DAY_MS), archivedAt: new Date() },
  });
  // The canaries as sync picks them (archived agents still count there; the panel does not list them).
  const allCanaries = canaryIds(demo.groupId, [...live, silent, archived], 50);
  const listed = [...live, silent];
  const canaries = listed.filter((id) => allCanaries.has(id));
  const failedCanary = canaries.find((id) => live.includes(id)) as string;
  const counts = `0 applied · 1 failed · ${canaries.length - 1} pending · ${listed.length - canaries.length} held back`;
  await t.db.unsafe.agent.update({
    where: { id: failedCanary },
    data: { lastConfigRevision: 2, lastConfigOk: false, lastConfigError: "no such device: eth9" },
  });
  // A data node serving two demo agents and the other org's agent.
  const node = await t.db.unsafe.dataNode.create({
    data: {
      name: "dn-e2e-1",
      url: "http://127.0.0.1:7399",
      capacity: 100,
      lastHealthAt: new Date(),
      observedRowsPerS: 250,
      loadMeasuredAt: new Date(),
    },
  });
  await t.db.unsafe.agent.updateMany({
    where: { id: { in: [live[0] as string, live[1] as string, foreign.id] } },
    data: { dataNodeId: node.id },
  });
  // One live agent (not the failed canary, whose apply error the page explains first) sheds load.
  const shedding = live.find((id) => id !== failedCanary && id !== live[0]) as string;
  await t.db.unsafe.agent.update({
    where: { id: shedding },
    data: {
      state: "degraded",
      stats: {
        cpuPct: 12,
        memBytes: 90_000_000,
        packetsPerS: 200_000,
        overload: {
          step: "shedding",
          reason: "512000 packets/s above maxPps 200000",
          elapsedS: 60,
          offeredPackets: 30_000_000,
          processedPackets: 12_000_000,
          shedPackets: 18_000_000,
          shedBytes: 9_000_000_000,
          stoppedPackets: 0,
          keepRatio: 0.47,
          sentRows: 9000,
          heldRows: 0,
          cpuHostPct: 6,
          escalations: 1,
        },
      },
    },
  });
  // Twenty minutes of heartbeats for the first agent, the last five degraded.
  const now = Date.now();
  await recordAgentHealth(
    ch.client,
    Array.from({ length: 120 }, (_, i) => ({
      orgId: demo.orgId,
      agentId: live[0] as string,
      time: new Date(now - (120 - i) * 10_000),
      state: i >= 90 ? "degraded" : "online",
      protective: false,
      cpuPct: 5 + (i % 10),
      memBytes: 80_000_000 + i * 100_000,
      packetsPerS: 1000 + i * 5,
      bytesPerS: 400_000,
      drops: i >= 90 ? i - 90 : 0,
      flows: 30,
      spoolBytes: 0,
      version: "0.1.0",
    })),
  );
  Object.assign(f, {
    groupId: demo.groupId,
    agents: agents.map((a) => ({ id: a.id, name: a.name })),
    failedCanary,
    shedding,
    counts,
    silent,
    archived,
    foreignAgent: foreign.name,
  });

  session = await openConsoleSession(
    "fleet e2e",
    { databaseUrl: t.url, clickhouseUrl: ch.url, clickhouseDatabase: ch.database },
    { pageErrors },
  );
  ({ server, page } = session);
  browser = session.browser.context;
  await signIn("demo@flowplane.local", "/o/demo/agents");
}, 600_000);

afterAll(async () => {
  await session?.close();
  await Promise.all([t?.drop(), ch?.drop()]);
  console.info(`fleet e2e: screenshots in ${SCREENSHOTS}`);
});

const signIn = (email: string, path: string) => signInAt(page, server.url, path, email, PASSWORD);
const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
const text = async (sel: string) => (await page.textContent(sel).catch(() => "")) ?? "";

describe("fleet pages", () => {
  it("group page: live rollout progress with the canary stage and the failed canary's error", async () => {
    await page.goto(`${server.url}/o/demo/groups/${f.groupId}`);
    await expect.poll(() => text("main")).toContain("canary stage");
    const main = await text("main");
    expect(main).toContain("no such device: eth9");
    expect(main).toContain(f.counts);
    expect(main).not.toContain(f.agents[5]?.name);
    // Settings are offered to the owner, and reachable from the keyboard.
    await page.focus("#canary-percent");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("25");
    await page.keyboard.press("Enter");
    await expect.poll(() => text("main")).toContain("Changes go to 25 % of agents first");
    await shot("group-rollout");
  });

  it("agent page: health history charts and the state strip", async () => {
    await page.goto(`${server.url}/o/demo/agents/${f.agents[0]?.id}`);
    await expect.poll(async () => page.locator(".recharts-surface").count()).toBeGreaterThanOrEqual(4);
    const strip = await page.getAttribute(".fp-timeline svg", "aria-label");
    expect(strip).toMatch(/online .*degraded/);
    await page.getByLabel("6 hours").check();
    await expect.poll(() => text("main")).toContain("One point per 60 s");
    await shot("agent-health");
    // A never-reporting agent: the empty state, not a blank chart.
    await page.goto(`${server.url}/o/demo/agents/${f.agents[2]?.id}`);
    await expect.poll(() => text("main")).toContain("No heartbeats in this range");
    // An agent shedding load: the governor's reason, and that it recovers by itself.
    await page.goto(`${server.url}/o/demo/agents/${f.shedding}`);
    await expect
      .poll(() => text("main"))
      .toContain("It is shedding load: 512000 packets/s above maxPps 200000");
    expect(await text("main")).toContain("shedding load (degraded)");
    await shot("agent-shedding");
  });

  it("agent list: long-silent agents hidden by default, shown on request; archived under their filter", async () => {
    await page.goto(`${server.url}/o/demo/agents`);
    await expect.poll(() => text("main")).toContain(f.agents[0]?.name as string);
    expect(await text("main")).not.toContain(f.agents[4]?.name);
    // At 1280 px the wide table scrolls inside its frame, not the page, and the keyboard reaches it.
    const frame = page.getByRole("region", { name: "Agents" });
    expect(await frame.getAttribute("tabindex")).toBe("0");
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    const wide = await frame.evaluate((el) => el.scrollWidth > el.clientWidth);
    if (wide) {
      await frame.focus();
      await page.keyboard.press("ArrowRight");
      await page.keyboard.press("ArrowRight");
      await expect.poll(() => frame.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
    }
    expect(await text("main")).toContain("dn-e2e-1");
    await page.getByLabel("With long-silent").check();
    await expect.poll(() => text("main")).toContain(f.agents[4]?.name as string);
    await page.getByLabel("Archived").check();
    await expect.poll(() => text("main")).toContain(f.agents[5]?.name as string);
    expect(await text("main")).not.toContain(f.agents[0]?.name);
    await shot("agents-archived");
    // The overview counts the archived agent apart from the fleet.
    await page.goto(`${server.url}/o/demo`);
    await expect.poll(() => text("main")).toContain("1 archived");
  });

  it("data nodes page: health, load and only this org's agents", async () => {
    // The node heartbeats (the build above may have taken minutes).
    await t.db.unsafe.dataNode.updateMany({
      where: { name: "dn-e2e-1" },
      data: { lastHealthAt: new Date() },
    });
    await page.goto(`${server.url}/o/demo/data-nodes`);
    await expect.poll(() => text("main")).toContain("Your agents on dn-e2e-1");
    const main = await text("main");
    expect(await text("main tbody .fp-badge")).toBe("up");
    expect(main).not.toContain("heartbeat late");
    expect(main).toContain("100 %");
    expect(main).toContain(f.agents[0]?.name);
    expect(main).not.toContain(f.foreignAgent);
    expect(await page.locator("nav >> text=Data nodes").count()).toBeGreaterThan(0);
    await shot("data-nodes");
  });

  it("a viewer sees the same pages with no action offered", async () => {
    await browser.clearCookies();
    await signIn(VIEWER, "/o/demo/data-nodes");
    await expect.poll(() => text("main")).toContain("dn-e2e-1");
    await page.goto(`${server.url}/o/demo/groups/${f.groupId}`);
    await expect.poll(() => text("main")).toContain("canary stage");
    expect(await page.locator("#canary-percent").count()).toBe(0);
    await page.goto(`${server.url}/o/demo/agents/${f.agents[4]?.id}`);
    await expect.poll(() => text("main")).toContain("Health history");
    expect(await page.getByRole("button", { name: "Archive" }).count()).toBe(0);
    await shot("viewer-group");
    expect(pageErrors).toEqual([]);
  });
});
