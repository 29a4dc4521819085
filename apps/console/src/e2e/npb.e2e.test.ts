import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seedDemo } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { recordNpbCounters } from "@flowplane/query";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleSession, openConsoleSession, type RunningConsole, signInAt } from "./server.ts";

// The packet-broker page end to end: a seeded policy with counters from two agents, then a
// policy created through the form, first refused with the field named, then accepted.
const PASSWORD = "e2e-password-1";
const SCREENSHOTS = mkdtempSync(join(tmpdir(), "flowplane-npb-e2e-"));

let t: TestDatabase;
let ch: TestClickhouse;
let server: RunningConsole;
let page: Page;
let session: ConsoleSession | undefined;
const pageErrors: string[] = [];
const agents = [randomUUID(), randomUUID()];
const recordedAt = new Date();

beforeAll(async () => {
  [t, ch] = await Promise.all([createTestDatabase("console_npb_e2e"), createTestClickhouse("npb_e2e")]);
  const demo = await seedDemo(t.db, { password: PASSWORD });
  const policy = await t.db.forOrg(demo.orgId).packetBrokerPolicy.create({
    data: {
      orgId: demo.orgId,
      name: "web to the IDS",
      priority: 10,
      match: { serverPorts: [443], protocols: ["tcp"] },
      action: { destinations: [{ address: "192.0.2.10" }], encap: { type: "vxlan", vni: 100 } },
    },
  });
  const zero = { truncated: 0, deduplicated: 0, notDesignated: 0, droppedByCap: 0, encapErrors: 0 };
  await recordNpbCounters(ch.client, demo.orgId, agents[0] as string, recordedAt, [
    { policyId: policy.id, matched: 1000, sent: 1000, bytes: 150_000, ...zero },
  ]);
  await recordNpbCounters(ch.client, demo.orgId, agents[1] as string, recordedAt, [
    { policyId: policy.id, matched: 234, sent: 200, bytes: 30_000, ...zero, notDesignated: 34 },
  ]);

  session = await openConsoleSession(
    "npb e2e",
    { databaseUrl: t.url, clickhouseUrl: ch.url, clickhouseDatabase: ch.database },
    { pageErrors },
  );
  ({ server, page } = session);
  await signInAt(page, server.url, "/o/demo/packet-broker", "demo@flowplane.local", PASSWORD);
}, 300_000);

afterAll(async () => {
  await session?.close();
  await Promise.all([t?.drop(), ch?.drop()]);
  console.info(`npb e2e: screenshots in ${SCREENSHOTS}`);
});

const text = async (sel: string) => (await page.textContent(sel).catch(() => "")) ?? "";

describe("packet broker page", () => {
  it("lists policies with their counters, per policy and per agent", async () => {
    await expect.poll(() => text("main")).toContain("web to the IDS");
    const main = await text("main");
    expect(main).toContain("vxlan 100 · 192.0.2.10");
    expect(main).toContain("1,234"); // matched over both agents
    expect(main).toContain(agents[1]);
    expect(await text("nav")).toContain("Packet broker");
    // The per-hour table: the hour the counters were stored in.
    const hour = new Date(Math.floor(recordedAt.getTime() / 3_600_000) * 3_600_000);
    expect(main).toContain(hour.toISOString().replace("T", " ").slice(0, 19));
    await page.screenshot({ path: join(SCREENSHOTS, "list.png"), fullPage: true });
  });

  it("refuses an invalid policy naming the field, then creates the fixed one", async () => {
    await page.fill("#npb-name", "everything to the recorder");
    await page.fill("#npb-priority", "20");
    await page.fill("#npb-match", JSON.stringify({ clientCidrs: ["10.1.2.0/16"] }));
    await page.click("button:has-text('Create policy')");
    await expect
      .poll(() => text("main"))
      .toContain("match.clientCidrs[0]: host bits set; did you mean 10.1.0.0/16?");
    await page.screenshot({ path: join(SCREENSHOTS, "refused.png"), fullPage: true });

    await page.fill("#npb-match", JSON.stringify({ clientCidrs: ["10.1.0.0/16"] }));
    await page.click("button:has-text('Create policy')");
    await expect.poll(() => text("table")).toContain("everything to the recorder");
    const row = await t.db.unsafe.packetBrokerPolicy.findFirst({
      where: { name: "everything to the recorder" },
    });
    expect(row?.match).toEqual(expect.objectContaining({ clientCidrs: ["10.1.0.0/16"] }));
    expect(pageErrors).toEqual([]);
  });
});
