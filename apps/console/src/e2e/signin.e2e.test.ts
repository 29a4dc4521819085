import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seedAgent, seedDemo, seedMembership, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { totp } from "../server/auth/totp.ts";
import { curlBlocks, runBlock } from "./api-doc.ts";
import {
  ensureBuild,
  freePort,
  launchBrowser,
  type RunningBrowser,
  type RunningConsole,
  startConsole,
} from "./server.ts";

// End to end: the production build (`next build`, reused when fresh) served by `next start`
// against a fresh database, driven by Debian's Chromium. This suite runs the console with its
// telemetry store down (a closed port), whatever the environment says: sign-in, orgs and the
// fleet must work without ClickHouse, and /healthz and the agent's health card must say it is
// down. The other suites run with a store.
const STORE_DOWN_URL = "http://127.0.0.1:9";
const PASSWORD = "e2e-password-1";
export const SCREENSHOT_DIR = mkdtempSync(join(tmpdir(), "flowplane-console-e2e-"));

let t: TestDatabase;
let server: RunningConsole;
let browser: BrowserContext;
let browserRun: RunningBrowser | undefined;

beforeAll(async () => {
  t = await createTestDatabase("console_e2e");
  const demo = await seedDemo(t.db, { password: PASSWORD });
  await seedAgent(t.db, demo.orgId, demo.groupId);
  // A second org of the demo owner (for the switcher) and one they are not a member of.
  const lab = await seedOrg(t.db, { name: "Lab", slug: "lab" });
  await seedMembership(t.db, { orgId: lab.id, userId: demo.userId, role: "viewer" });
  await seedAgent(t.db, (await seedOrg(t.db, { name: "Other", slug: "other" })).id);
  const buildMs = await ensureBuild();
  if (buildMs > 0) console.info(`console e2e: next build took ${(buildMs / 1000).toFixed(1)} s`);
  const port = await freePort();
  server = await startConsole(port, {
    DATABASE_URL: t.url,
    CLICKHOUSE_URL: STORE_DOWN_URL,
    NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
    NEXTAUTH_URL: `http://127.0.0.1:${port}`,
  });
  browserRun = await launchBrowser({ width: 1280, height: 800 });
  browser = browserRun.context;
}, 300_000);

afterAll(async () => {
  await browserRun?.close();
  await server?.stop();
  await t?.drop();
});

describe("console end to end", () => {
  it("serves /signin and /healthz", async () => {
    expect((await fetch(`${server.url}/signin`)).status).toBe(200);
    // No OIDC_* variables here: no single sign-on button (oidc.e2e.test.ts has it configured).
    expect(await (await fetch(`${server.url}/signin`)).text()).not.toContain("Sign in with");
    const res = await fetch(`${server.url}/healthz`);
    const body = (await res.json()) as {
      status: string;
      checks: Record<string, { ok: boolean; ms: number }>;
    };
    expect(body.checks.postgres?.ok).toBe(true);
    expect(res.status).toBe(503);
    expect(body.checks.clickhouse?.ok).toBe(false);
  });

  it("redirects anonymous visitors to /signin and keeps tRPC answering 401", async () => {
    const page = await fetch(`${server.url}/o/demo`, { redirect: "manual" });
    expect(page.status).toBe(307);
    expect(page.headers.get("location")).toContain("/signin?callbackUrl=%2Fo%2Fdemo");
    const api = await fetch(`${server.url}/api/trpc/org.list`);
    expect(api.status).toBe(401);
  });

  it("signs in as the seeded owner, shows the org overview and the agents table, signs out", async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("response", (res) => {
      // 401 is the expected answer to the wrong password; with the store down the health card's
      // query answers 503 (the card says so, asserted below).
      const storeDown = res.status() === 503 && res.url().includes("agents.health");
      if (res.status() >= 400 && res.status() !== 401 && !storeDown && !res.url().endsWith("/o/other"))
        pageErrors.push(`${res.status()} ${res.url()}`);
    });
    page.on("console", (msg) => {
      if (msg.type() === "error" && !msg.text().includes("Failed to load resource"))
        pageErrors.push(msg.text());
    });
    await page.goto(`${server.url}/o/demo`);
    await page.waitForURL(/\/signin/);
    await page.fill("#email", "demo@flowplane.local");
    await page.fill("#password", "not-the-password");
    await page.click("button[type=submit]");
    await expect.poll(() => page.textContent("[role=alert]")).toContain("Wrong email or password.");
    await page.screenshot({ path: join(SCREENSHOT_DIR, "signin-error.png") });

    await page.fill("#password", PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForURL(`${server.url}/o/demo`);
    await expect.poll(() => page.textContent("h1")).toBe("Demo Corp");
    const main = (await page.textContent("main")) ?? "";
    expect(main).toContain("owner");
    expect(main).toContain("1 online");
    await page.screenshot({ path: join(SCREENSHOT_DIR, "overview.png"), fullPage: true });

    await page.click("nav >> text=Agents");
    await page.waitForURL(`${server.url}/o/demo/agents`);
    await expect.poll(() => page.locator("table tbody tr").count()).toBe(1);
    expect(await page.textContent("table")).toContain("online");
    await page.screenshot({ path: join(SCREENSHOT_DIR, "agents.png"), fullPage: true });
    // The agent's detail page: diagnosis, details, actions for the owner.
    await page.click("table tbody tr a");
    await page.waitForURL(/\/agents\/[0-9a-f-]{36}$/);
    await page.waitForSelector("text=Why is it (not) sending?");
    expect(await page.textContent("main")).toContain("It is checking in and capturing.");
    expect(await page.locator("button:has-text('Disable')").count()).toBe(1);
    await expect
      .poll(() => page.textContent("main"))
      .toContain("health history unavailable: the telemetry store did not answer");
    await page.screenshot({ path: join(SCREENSHOT_DIR, "agent-detail.png"), fullPage: true });
    await page.goBack();

    // The switcher keeps the section; the other org's table shows its own (no) agents.
    await page.selectOption("header select", "lab");
    await page.waitForURL(`${server.url}/o/lab/agents`);
    await expect.poll(() => page.textContent("main")).toContain("No agents yet");
    // An org the user is not a member of is a plain 404, like one that does not exist.
    const foreign = await page.goto(`${server.url}/o/other`);
    expect(foreign?.status()).toBe(404);
    await page.goto(`${server.url}/o/demo/agents`);

    // The client table refreshes through the HTTP tRPC endpoint with the session cookie.
    const refreshed = await page.evaluate(async () => {
      const res = await fetch('/api/trpc/agents.list?input={"orgSlug":"demo"}');
      return { status: res.status, body: await res.json() };
    });
    expect(refreshed.status).toBe(200);

    await page.click("text=Sign out");
    await page.waitForURL(/\/signin/);
    await page.close();
    // No hydration mismatches or client exceptions on the way.
    expect(pageErrors).toEqual([]);
    console.info(`console e2e: screenshots in ${SCREENSHOT_DIR}`);
  });

  it("signs up, creates an org, invites a viewer who cannot change anything, creates a group and an enrolment token; docs/api.md runs", async () => {
    await browser.clearCookies();
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (err) => problems.push(err.message));
    page.on("console", (msg) => {
      if (msg.type() === "error" && !msg.text().includes("Failed to load resource"))
        problems.push(msg.text());
    });
    const shot = (name: string) =>
      page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

    // Sign up, land on "no organization yet", create one.
    await page.goto(`${server.url}/signup`);
    await page.fill("#name", "Olivia Owner");
    await page.fill("#email", "owner@e2e.test");
    await page.fill("#password", "owner-password-1");
    await shot("signup");
    await page.click("button[type=submit]");
    await page.waitForURL(`${server.url}/`);
    await page.click("text=Create an organization");
    await page.waitForURL(/\/orgs\/new/);
    await page.fill("#org-name", "E2E Org");
    expect(await page.inputValue("#org-slug")).toBe("e2e-org");
    await shot("org-new");
    await page.click("button[type=submit]");
    await page.waitForURL(`${server.url}/o/e2e-org`);
    await expect.poll(() => page.textContent("h1")).toBe("E2E Org");

    // Invite a viewer: the one-time link is shown once.
    await page.click("nav >> text=Members");
    await page.waitForURL(/\/members$/);
    await page.fill("#invite-email", "viewer@e2e.test");
    await page.selectOption("#invite-role", "viewer");
    await page.click("text=Create invitation link");
    const inviteLink =
      (await page.locator("[data-testid=secret-value]").textContent({ timeout: 10_000 })) ?? "";
    expect(inviteLink).toMatch(/\/invite\/fpi_/);
    await shot("members");

    // A group, a saved revision, the diff; then an enrolment token with its command.
    await page.click("nav >> text=Agent groups");
    await page.fill("#group-name", "edge");
    await page.click("text=Create group");
    await page.waitForURL(/\/groups\/[0-9a-f-]{36}$/);
    const config = JSON.parse(await page.inputValue("#config-editor")) as { limits: { maxCpuPct: number } };
    config.limits.maxCpuPct = 25;
    await page.fill("#config-editor", JSON.stringify(config, null, 2));
    await page.fill("#config-comment", "lower CPU limit");
    await page.click("text=Save as new revision");
    await expect.poll(() => page.textContent("main")).toContain("r2 (current)");
    await expect.poll(() => page.locator(".fp-diff-add").count()).toBeGreaterThan(0);
    await shot("group");
    await page.click("nav >> text=Enrolment");
    await page.fill("#tok-name", "lab");
    await page.click("text=Create token");
    const command = (await page.locator("[data-testid=secret-value]").textContent({ timeout: 10_000 })) ?? "";
    expect(command).toMatch(
      /^npx flowplane-agent run --interface \S+ --controller http:\/\/\S+ --token fpe_\S+$/,
    );
    await shot("enrollment");

    // An admin API key for the curl examples of docs/api.md.
    await page.click("nav >> text=API keys");
    await page.fill("#key-name", "docs");
    await page.selectOption("#key-role", "admin");
    await page.click("text=Create key");
    const apiKey = (await page.locator("[data-testid=secret-value]").textContent({ timeout: 10_000 })) ?? "";
    expect(apiKey).toMatch(/^fpk_/);
    await shot("api-keys");
    await page.click("nav >> text=Audit log");
    await page.waitForSelector("h1:has-text('Audit log')");
    await expect.poll(() => page.locator("table tbody tr").count()).toBeGreaterThanOrEqual(5);
    await shot("audit");
    await page.click("nav >> text=Settings");
    await page.waitForSelector("h1:has-text('Settings')");
    await shot("settings");
    await page.click("text=Sign out");
    await page.waitForURL(/\/signin/);

    // The viewer opens the link, signs up, accepts.
    await page.goto(inviteLink);
    await page.waitForURL(/\/signin/);
    await page.click("text=Create an account");
    await page.fill("#email", "viewer@e2e.test");
    await page.fill("#password", "viewer-password-1");
    await page.click("button[type=submit]");
    await page.waitForURL(/\/invite\//);
    await page.click("text=Accept invitation");
    await page.waitForURL(`${server.url}/o/e2e-org`);
    const nav = (await page.textContent("nav")) ?? "";
    expect(nav).not.toContain("API keys");
    expect(nav).not.toContain("Audit log");
    expect(nav).not.toContain("Enrolment");
    await page.click("nav >> text=Members");
    await page.waitForURL(/\/members$/);
    // Negative checks only after the page has rendered (a loading state would pass them vacuously).
    await page.waitForSelector("h1:has-text('Members')");
    await page.waitForSelector("td:has-text('viewer@e2e.test')");
    expect(await page.locator("text=Invite someone").count()).toBe(0);
    expect(await page.locator("button:has-text('Remove')").count()).toBe(0);
    await page.click("nav >> text=Agent groups");
    await page.waitForSelector("h1:has-text('Agent groups')");
    await page.waitForSelector("table >> text=edge");
    expect(await page.locator("text=New group").count()).toBe(0);
    await page.click("table >> text=edge");
    await page.waitForURL(/\/groups\/[0-9a-f-]{36}$/);
    await page.waitForSelector("#config-editor");
    await page.waitForSelector("text=History");
    expect(await page.locator("#config-editor").getAttribute("readonly")).not.toBeNull();
    expect(await page.locator("text=Save as new revision").count()).toBe(0);
    await shot("viewer-group");
    // A typed URL of a hidden section explains itself instead of failing.
    await page.goto(`${server.url}/o/e2e-org/api-keys`);
    await page.waitForSelector("text=Not available to your role");
    // The server refuses what the UI hides.
    const refused = await page.evaluate(async () => {
      const res = await fetch("/api/trpc/groups.create", {
        method: "POST",
        headers: { "content-type": "application/json", "x-flowplane-org": "e2e-org" },
        body: JSON.stringify({ name: "sneaky" }),
      });
      return res.status;
    });
    expect(refused).toBe(403);

    // The viewer turns on TOTP; the next sign-in asks for the code.
    await page.goto(`${server.url}/account`);
    await page.click("text=Set up two-factor sign-in");
    const totpSecret =
      (await page.locator("[data-testid=secret-value]").textContent({ timeout: 10_000 })) ?? "";
    await page.fill("#totp-code", totp(totpSecret));
    await page.click("button:has-text('Turn on')");
    await expect.poll(() => page.textContent("main, body")).toContain("Two-factor sign-in is on");
    await shot("account");
    await page.click("text=Back to the console");
    await page.click("text=Sign out");
    await page.waitForURL(/\/signin/);
    await page.fill("#email", "viewer@e2e.test");
    await page.fill("#password", "viewer-password-1");
    await page.click("button[type=submit]");
    await page.waitForSelector("#code");
    await page.fill("#code", totp(totpSecret));
    await page.click("button[type=submit]");
    await page.waitForURL(`${server.url}/o/e2e-org`);
    await page.close();
    expect(problems).toEqual([]);

    // Every curl block of docs/api.md, unchanged, with the admin key.
    const blocks = curlBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const block of blocks) {
      const run = await runBlock(block, {
        FLOWPLANE_URL: server.url,
        FLOWPLANE_ORG: "e2e-org",
        FLOWPLANE_API_KEY: apiKey,
      });
      expect(run, block).toMatchObject({ ok: true });
      expect(JSON.parse(run.stdout), block).toHaveProperty("result");
    }
    const revoked = await fetch(`${server.url}/api/trpc/groups.list?input=%7B%7D`, {
      headers: { authorization: "Bearer fpk_not-a-real-key", "x-flowplane-org": "e2e-org" },
    });
    expect(revoked.status).toBe(401);
    console.info(`console e2e: screenshots in ${SCREENSHOT_DIR}`);
  }, 120_000);
});
