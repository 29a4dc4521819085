import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seedDemo, seedUser } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oidcAccountProvider } from "../server/auth/oidc.ts";
import { type RunningIdp, startIdp } from "./oidc-idp.ts";
import {
  ensureBuild,
  freePort,
  launchBrowser,
  type RunningBrowser,
  type RunningConsole,
  startConsole,
} from "./server.ts";

// OIDC sign-in end to end: a real OpenID Provider (oidc-provider) on loopback, the production
// console started with the OIDC_* variables (the provider is read at run time, so the same
// build serves both), and Debian's Chromium walking the IdP's login and consent pages.
let t: TestDatabase;
let idp: RunningIdp;
let server: RunningConsole;
let browserRun: RunningBrowser | undefined;
let browser: BrowserContext;
let demoUserId: string;
const SCREENSHOT_DIR = mkdtempSync(join(tmpdir(), "flowplane-console-oidc-e2e-"));

beforeAll(async () => {
  t = await createTestDatabase("console_oidc_e2e");
  const demo = await seedDemo(t.db, { password: "e2e-oidc-password" });
  demoUserId = demo.userId;
  await seedUser(t.db, { email: "victim@example.test", password: "victim-password-1" });
  await ensureBuild();
  const [idpPort, consolePort] = [await freePort(), await freePort()];
  const consoleUrl = `http://127.0.0.1:${consolePort}`;
  idp = await startIdp({
    port: idpPort,
    consoleUrl,
    users: [
      { login: "demo", email: "demo@flowplane.local", emailVerified: true, name: "Demo via IdP" },
      // Claims an existing account's address without the IdP having verified it.
      { login: "mallory", email: "victim@example.test", emailVerified: false },
      { login: "newbie", email: "newbie@example.test", emailVerified: true, name: "New Bie" },
    ],
  });
  server = await startConsole(consolePort, {
    DATABASE_URL: t.url,
    CLICKHOUSE_URL: process.env.CLICKHOUSE_URL ?? "http://127.0.0.1:9",
    NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
    NEXTAUTH_URL: consoleUrl,
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    OIDC_NAME: "Test IdP",
  });
  browserRun = await launchBrowser({ width: 1280, height: 800 });
  browser = browserRun.context;
}, 300_000);

afterAll(async () => {
  console.info(`console OIDC e2e: screenshots in ${SCREENSHOT_DIR}`);
  await browserRun?.close();
  await server?.stop();
  await idp?.stop();
  await t?.drop();
});

/** From the console's sign-in page through the IdP's login and consent pages, as `login`. */
async function signInAtIdp(page: Page, login: string): Promise<void> {
  await page.goto(`${server.url}/signin`);
  await page.click("text=Sign in with Test IdP");
  await page.waitForURL((u) => u.href.startsWith(idp.issuer));
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "anything");
  await page.click("button[type=submit]");
  // Every test starts without cookies, so each is a fresh IdP session: login, then consent.
  await page.waitForSelector("input[name=prompt][value=consent]", { state: "attached" });
  await page.click("button[type=submit]");
  await page.waitForURL((u) => u.href.startsWith(server.url), { timeout: 30_000 });
}

// Each flow is several server round trips (console, IdP, token and userinfo calls) on a shared machine.
describe("OIDC sign-in", { timeout: 90_000 }, () => {
  it("links the IdP's verified address to the existing owner and lands on the org; the session version still rules", async () => {
    await browser.clearCookies();
    const page = await browser.newPage();
    await page.goto(`${server.url}/signin`);
    expect(await page.textContent("button:has-text('Sign in with Test IdP')")).toBe("Sign in with Test IdP");
    await page.screenshot({ path: join(SCREENSHOT_DIR, "signin-oidc.png") });

    await signInAtIdp(page, "demo");
    await page.waitForURL(`${server.url}/o/demo`);
    await expect.poll(() => page.textContent("h1")).toBe("Demo Corp");
    await page.screenshot({ path: join(SCREENSHOT_DIR, "oidc-overview.png") });
    const linked = await t.db.unsafe.account.findMany({ where: { userId: demoUserId } });
    expect(linked).toMatchObject([{ provider: oidcAccountProvider(idp.issuer), providerAccountId: "demo" }]);
    expect(await t.db.unsafe.user.count({ where: { email: "demo@flowplane.local" } })).toBe(1);

    // Sign-out everywhere bumps the version: this OIDC session ends at the next request.
    await t.db.unsafe.user.update({ where: { id: demoUserId }, data: { sessionVersion: { increment: 1 } } });
    await page.goto(`${server.url}/o/demo`);
    await page.waitForURL(/\/signin/);
    await page.close();
  });

  it("refuses to link an existing account when the IdP has not verified the address", async () => {
    await browser.clearCookies();
    const page = await browser.newPage();
    await signInAtIdp(page, "mallory");
    await page.waitForURL(/\/signin\?error=OidcEmailNotVerified/);
    await expect.poll(() => page.textContent("[role=alert]")).toContain("has not verified the address");
    await page.screenshot({ path: join(SCREENSHOT_DIR, "oidc-unverified.png") });
    const victim = await t.db.unsafe.user.findUniqueOrThrow({
      where: { email: "victim@example.test" },
      select: { accounts: true },
    });
    expect(victim.accounts).toEqual([]);
    await page.close();
  });

  it("creates the user on first sign-in (no org yet)", async () => {
    await browser.clearCookies();
    const page = await browser.newPage();
    await signInAtIdp(page, "newbie");
    await expect.poll(() => page.textContent("main, body")).toContain("No organization yet");
    const user = await t.db.unsafe.user.findUniqueOrThrow({
      where: { email: "newbie@example.test" },
      select: {
        name: true,
        passwordHash: true,
        emailVerified: true,
        accounts: { select: { providerAccountId: true } },
      },
    });
    expect(user).toMatchObject({
      name: "New Bie",
      passwordHash: null,
      accounts: [{ providerAccountId: "newbie" }],
    });
    expect(user.emailVerified).not.toBeNull();
    await page.close();
  });
});

describe("OIDC configuration", () => {
  it("half set: the console refuses to start and names the missing variable", async () => {
    const port = await freePort();
    const started = startConsole(port, {
      DATABASE_URL: t.url,
      CLICKHOUSE_URL: "http://127.0.0.1:9",
      NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: "",
    });
    await expect(started).rejects.toThrow(
      /next start exited \(1\)[\s\S]*flowplane: invalid configuration: OIDC_CLIENT_SECRET: missing while OIDC_ISSUER and OIDC_CLIENT_ID are set/,
    );
  });
});
