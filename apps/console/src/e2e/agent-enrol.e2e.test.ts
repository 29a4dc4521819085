import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { createTestClickhouse, type TestClickhouse } from "@flowplane/query/testing";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CONSOLE_DIR,
  ensureBuild,
  freePort,
  launchBrowser,
  type RunningBrowser,
  type RunningConsole,
  startConsole,
} from "./server.ts";

// The whole enrolment loop end to end: an owner signs up in Chromium, creates a group and an
// enrolment token; the command the page shows once starts the real agent binary (replaying a
// shared capture) against the real controller process; the agent shows up online, and a limit
// changed in the config editor reaches it as a new revision the agent reports applied.
const CONTROLLER_MAIN = join(CONSOLE_DIR, "../controller/src/main.ts");
const AGENT_BIN = join(CONSOLE_DIR, "../agent/bin/flowplane-agent.js");
const PCAP = join(sharedPcapsDir(), "http1-get.pcap");
export const SCREENSHOTS = mkdtempSync(join(tmpdir(), "flowplane-enrol-e2e-"));
const stateDir = mkdtempSync(join(tmpdir(), "flowplane-enrol-e2e-agent-"));

type Child = { proc: ChildProcess; output: () => string; stop: () => Promise<void> };

/** A child process whose output is kept for failure messages; stop() is SIGTERM, then SIGKILL. */
function startChild(args: string[], cwd: string, env: Record<string, string>): Child {
  const proc = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  proc.stdout?.on("data", (d) => (output += d));
  proc.stderr?.on("data", (d) => (output += d));
  const stop = () =>
    new Promise<void>((ok) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return ok();
      proc.once("exit", () => ok());
      proc.kill("SIGTERM");
      setTimeout(() => proc.kill("SIGKILL"), 5000).unref();
    });
  return { proc, output: () => output, stop };
}

let t: TestDatabase;
let ch: TestClickhouse;
let server: RunningConsole;
let browserRun: RunningBrowser | undefined;
let page: Page;
let controller: Child | undefined;
let agent: Child | undefined;
let controllerUrl: string;
const problems: string[] = [];

beforeAll(async () => {
  [t, ch] = await Promise.all([createTestDatabase("console_enrol_e2e"), createTestClickhouse("enrol_e2e")]);
  const stores = {
    DATABASE_URL: t.url,
    CLICKHOUSE_URL: ch.url,
    CLICKHOUSE_DATABASE: ch.database,
  };
  const controllerPort = await freePort();
  controllerUrl = `http://127.0.0.1:${controllerPort}`;
  controller = startChild(["--import", "tsx", CONTROLLER_MAIN], join(CONSOLE_DIR, "../controller"), {
    ...stores,
    CONTROLLER_HOST: "127.0.0.1",
    CONTROLLER_PORT: String(controllerPort),
  });

  const buildMs = await ensureBuild();
  if (buildMs > 0) console.info(`enrol e2e: next build took ${(buildMs / 1000).toFixed(1)} s`);
  const port = await freePort();
  server = await startConsole(port, {
    ...stores,
    NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
    NEXTAUTH_URL: `http://127.0.0.1:${port}`,
    // The enrolment command the page shows must point at this controller.
    FLOWPLANE_CONTROLLER_URL: controllerUrl,
  });

  // The controller started while the console built; by now it answers (or says why not).
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (controller.proc.exitCode !== null) throw new Error(`controller exited:\n${controller.output()}`);
    const status = (await fetch(`${controllerUrl}/healthz`).catch(() => undefined))?.status;
    if (status === 200) break;
    if (Date.now() > deadline)
      throw new Error(`controller /healthz answered ${status} after 60 s:\n${controller.output()}`);
    await new Promise((r) => setTimeout(r, 500));
  }

  browserRun = await launchBrowser({ width: 1280, height: 900 });
  page = await browserRun.context.newPage();
  page.on("pageerror", (err) => problems.push(err.message));
  page.on("response", (res) => {
    if (res.status() >= 500) problems.push(`${res.status()} ${res.url()}`);
  });
}, 600_000);

afterAll(async () => {
  await agent?.stop();
  await controller?.stop();
  await browserRun?.close();
  await server?.stop();
  await Promise.all([t?.drop(), ch?.drop()]);
  rmSync(stateDir, { recursive: true, force: true });
  console.info(`enrol e2e: screenshots in ${SCREENSHOTS}`);
});

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
const text = async (sel: string) => (await page.textContent(sel).catch(() => "")) ?? "";

type TEditable = { limits: { maxPps: number } };

/** Saves the editor's JSON after `edit` as a new revision; resolves once the page shows it current. */
async function saveRevision(edit: (config: TEditable) => void, comment: string, revision: number) {
  const config = JSON.parse(await page.inputValue("#config-editor")) as TEditable;
  edit(config);
  await page.fill("#config-editor", JSON.stringify(config, null, 2));
  await page.fill("#config-comment", comment);
  await page.click("text=Save as new revision");
  await expect.poll(() => text("main")).toContain(`r${revision} (current)`);
}

describe("agent enrolment end to end", () => {
  it("enrols a real agent with the token from the page, sees it online, and it applies a changed limit", async () => {
    // A fresh owner and org.
    await page.goto(`${server.url}/signup`);
    await page.fill("#name", "Erin Enrol");
    await page.fill("#email", "owner@enrol.test");
    await page.fill("#password", "owner-password-1");
    await page.click("button[type=submit]");
    await page.waitForURL(`${server.url}/`);
    await page.click("text=Create an organization");
    await page.waitForURL(/\/orgs\/new/);
    await page.fill("#org-name", "Enrol Org");
    await page.click("button[type=submit]");
    await page.waitForURL(`${server.url}/o/enrol-org`);
    await shot("1-org");

    // A group; the console offers no sync interval field, so the fixture shortens the group's
    // interval in Postgres: a revision then reaches the agent within seconds, not the default 10 s.
    await page.click("nav >> text=Agent groups");
    await page.fill("#group-name", "replay");
    await page.click("text=Create group");
    await page.waitForURL(/\/groups\/[0-9a-f-]{36}$/);
    const groupUrl = page.url();
    const groupId = groupUrl.split("/").at(-1) as string;
    await t.db.unsafe.agentGroup.update({ where: { id: groupId }, data: { syncIntervalS: 2 } });
    await page.waitForSelector("#config-editor");
    await shot("2-group");

    // The enrolment token: the command is shown once; the agent runs exactly what it says.
    await page.click("nav >> text=Enrolment");
    await page.fill("#tok-name", "replay");
    await page.click("text=Create token");
    const command = (await page.locator("[data-testid=secret-value]").textContent({ timeout: 20_000 })) ?? "";
    await shot("3-enrolment-token");
    const shown = command.match(/--controller (\S+) --token (fpe_\S+)$/);
    expect(shown, command).not.toBeNull();
    const [, shownController, token] = shown as RegExpMatchArray;
    expect(shownController).toBe(controllerUrl);

    agent = startChild(
      [
        AGENT_BIN,
        "run",
        "--pcap",
        PCAP,
        "--speed",
        "1x",
        "--loop",
        "--controller",
        shownController as string,
        "--token",
        token as string,
        "--state-dir",
        stateDir,
      ],
      CONSOLE_DIR,
      {},
    );
    const agentAlive = () => {
      if (agent?.proc.exitCode !== null) throw new Error(`agent exited:\n${agent?.output()}`);
    };

    // It appears online in the agents table (server-rendered: reload until it is there).
    await page.click("nav >> text=Agents");
    await page.waitForURL(/\/agents$/);
    await expect
      .poll(
        async () => {
          agentAlive();
          await page.reload();
          return text("table tbody");
        },
        { timeout: 90_000, interval: 2000 },
      )
      .toContain("online");
    expect(await page.locator("table tbody tr").count()).toBe(1);
    expect(await text("table tbody")).toContain("replay");
    await shot("4-agents-online");

    // Lower the packet-rate limit in the group's editor: revision 2.
    await page.goto(groupUrl);
    await page.waitForSelector("#config-editor");
    await saveRevision(
      (c) => {
        c.limits.maxPps = 5000;
      },
      "cap the replay at 5000 packets/s",
      2,
    );
    await shot("5-group-r2");

    // The agent's page reports revision 2 applied once it has synced.
    await page.goto(`${server.url}/o/enrol-org/agents`);
    await page.click("table tbody tr a");
    await page.waitForURL(/\/agents\/[0-9a-f-]{36}$/);
    await expect
      .poll(
        async () => {
          agentAlive();
          await page.reload();
          return text("main");
        },
        { timeout: 90_000, interval: 2000 },
      )
      .toMatch(/runs r2 of r2[\s\S]*r2: applied/);
    expect(agent.output()).toMatch(/applied configuration revision 2/);
    await shot("6-agent-applied-r2");

    expect(problems).toEqual([]);
  }, 300_000);
});
