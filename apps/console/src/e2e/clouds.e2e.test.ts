import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSecret, SecretsKey } from "@flowplane/db/clouds";
import { seedDemo } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleSession, openConsoleSession, type RunningConsole, signInAt } from "./server.ts";

// The Cloud accounts page end to end: a synced AWS account with resources and history, and a
// Kubernetes cluster whose last sync failed. The sealed bytes hold a marker the page must not show.
const PASSWORD = "e2e-password-1";
const SECRET = "AKIA-E2E-MARKER";
const SCREENSHOTS = mkdtempSync(join(tmpdir(), "flowplane-clouds-e2e-"));

let t: TestDatabase;
// The console needs a ClickHouse to start (telemetry pages); this page never reads it.
let ch: TestClickhouse;
let server: RunningConsole;
let page: Page;
let session: ConsoleSession | undefined;
const pageErrors: string[] = [];
let orgId: string;

beforeAll(async () => {
  [t, ch] = await Promise.all([createTestDatabase("console_clouds_e2e"), createTestClickhouse("clouds_e2e")]);
  const demo = await seedDemo(t.db, { password: PASSWORD });
  orgId = demo.orgId;
  const db = t.db.unsafe;
  const sealed = Buffer.from(SECRET);
  const aws = await db.cloudAccount.create({
    data: {
      orgId: demo.orgId,
      kind: "aws",
      name: "prod-aws",
      encryptedCredentials: sealed,
      lastSyncAt: new Date(),
    },
  });
  await db.cloudAccount.create({
    data: {
      orgId: demo.orgId,
      kind: "kubernetes",
      name: "edge-cluster",
      encryptedCredentials: sealed,
      lastError: "kubernetes: list nodes: 401 Unauthorized",
    },
  });
  let tagId = 0;
  for (const [kind, externalId, name] of [
    ["vpc", "vpc-1", "main vpc"],
    ["subnet", "subnet-1", "public a"],
    ["subnet", "subnet-2", "public b"],
  ] as const) {
    const r = await db.cloudResource.create({
      data: { orgId: demo.orgId, accountId: aws.id, kind, externalId, name, tagId: ++tagId },
    });
    await db.cloudResourceChange.create({
      data: { orgId: demo.orgId, resourceId: r.id, action: "created", after: { name } },
    });
  }

  // The console seals what the add form sends with this key (the controller's, in production).
  process.env.FLOWPLANE_SECRETS_KEY = randomBytes(32).toString("base64");
  session = await openConsoleSession(
    "clouds e2e",
    { databaseUrl: t.url, clickhouseUrl: ch.url, clickhouseDatabase: ch.database },
    { pageErrors },
  );
  ({ server, page } = session);
  await signInAt(page, server.url, "/o/demo/clouds", "demo@flowplane.local", PASSWORD);
}, 300_000);

afterAll(async () => {
  await session?.close();
  await Promise.all([t?.drop(), ch?.drop()]);
  console.info(`clouds e2e: screenshots in ${SCREENSHOTS}`);
});

const text = async (sel: string) => (await page.textContent(sel).catch(() => "")) ?? "";

describe("cloud accounts page", () => {
  it("shows each account's status, last error, resources and the history; never credentials", async () => {
    await expect.poll(() => text("main")).toContain("Recent changes");
    await expect.poll(() => text("main")).toContain("public b");
    const main = await text("main");
    expect(main).toContain("prod-aws");
    expect(main).toContain("last sync failed");
    expect(main).toContain("kubernetes: list nodes: 401 Unauthorized");
    expect(main).toContain("2 subnet");
    expect(main).not.toContain(SECRET);
    expect(await text("nav")).toContain("Cloud accounts");
    await page.screenshot({ path: join(SCREENSHOTS, "accounts.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  const added = "AWS-SECRET-E2E-typed-once";
  it("adds an AWS account through the form and never shows its secret again", async () => {
    await page.selectOption("#cloud-kind", "aws");
    await page.fill("#cloud-name", "staging-aws");
    await page.fill(
      "#cloud-credentials",
      JSON.stringify({ accessKeyId: "AKIAE2EADDED", secretAccessKey: added, homeRegion: "eu-west-1" }),
    );
    await page.click("button:has-text('Add account')");
    await expect.poll(() => text("main")).toContain("Added staging-aws");
    await expect.poll(() => text("table")).toContain("staging-aws");
    expect(await page.inputValue("#cloud-credentials")).toBe("");
    const main = await text("main");
    expect(main).not.toContain(added);
    expect(main).not.toContain("AKIAE2EADDED");
    await page.screenshot({ path: join(SCREENSHOTS, "added.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it("renames the account and replaces its secret: settings shown, secrets never, empty keeps the key id", async () => {
    const replaced = "AWS-SECRET-E2E-replaced";
    await page.click("button[aria-label='Edit staging-aws']");
    await expect.poll(() => page.inputValue("#edit-homeRegion").catch(() => "")).toBe("eu-west-1");
    expect(await page.inputValue("#edit-name")).toBe("staging-aws");
    expect(await page.inputValue("#edit-secretAccessKey")).toBe("");
    expect(await page.inputValue("#edit-accessKeyId")).toBe("");
    expect(await text("main")).toContain("Stored, never shown");
    // A bad setting is refused with the field named, and nothing is saved.
    await page.fill("#edit-endpoint", "not a url");
    await page.click("button:has-text('Save changes')");
    await expect.poll(() => text("main")).toContain("endpoint: expected an http(s):// URL");
    await page.fill("#edit-endpoint", "");
    await page.fill("#edit-name", "staging-eu");
    await page.fill("#edit-secretAccessKey", replaced);
    await page.fill("#edit-regions", "eu-west-1, eu-central-1");
    await page.click("button:has-text('Save changes')");
    await expect.poll(() => text("main")).toContain("Saved staging-eu");
    await expect.poll(() => text("table")).toContain("staging-eu");
    expect(await text("table")).not.toContain("staging-aws");
    await expect.poll(() => page.inputValue("#edit-regions")).toBe("eu-west-1, eu-central-1");
    expect(await page.inputValue("#edit-secretAccessKey")).toBe("");
    const main = await text("main");
    for (const s of [replaced, added, "AKIAE2EADDED"]) expect(main).not.toContain(s);
    await page.screenshot({ path: join(SCREENSHOTS, "edited.png"), fullPage: true });
    // Stored: re-sealed with the console's key; the key id left empty was kept.
    const row = await t.db.unsafe.cloudAccount.findFirstOrThrow({ where: { orgId, name: "staging-eu" } });
    const key = SecretsKey.fromBase64(process.env.FLOWPLANE_SECRETS_KEY ?? "");
    expect(openSecret(key, orgId, row.encryptedCredentials)).toMatchObject({
      accessKeyId: "AKIAE2EADDED",
      secretAccessKey: replaced,
      homeRegion: "eu-west-1",
      regions: ["eu-west-1", "eu-central-1"],
    });
    const audit = await t.db.unsafe.auditLog.findMany({ where: { orgId, action: "clouds.update" } });
    expect(
      audit.map((a) => (a.after as { credentialsReplaced?: string[] }).credentialsReplaced),
    ).toContainEqual(["secretAccessKey"]);
    expect(JSON.stringify(audit)).not.toContain(replaced);
    await page.click("button:has-text('Close')");
    expect(pageErrors).toEqual([]);
  });

  it("removes the account", async () => {
    page.once("dialog", (d) => void d.accept());
    await page.click("button[aria-label='Remove staging-eu']");
    await expect.poll(() => text("table")).not.toContain("staging-eu");
    expect(await text("table")).toContain("prod-aws");
    expect(pageErrors).toEqual([]);
  });
});
