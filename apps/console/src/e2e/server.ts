import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** apps/console */
export const CONSOLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const NEXT_BIN = join(dirname(createRequire(import.meta.url).resolve("next/package.json")), "dist/bin/next");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // Tests do not end up in the build, so editing them must not force a rebuild.
    if (entry.name === "node_modules" || entry.name === "e2e" || entry.name.startsWith(".")) continue;
    if (entry.name.endsWith(".test.ts")) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Source folders whose code ends up in the console build: its own and its workspace packages'. */
const BUILD_SOURCES = [
  "src",
  "../../packages/ui/src",
  "../../packages/query/src",
  "../../packages/db/src",
  "../../packages/protocol/src",
  "../../packages/core/src",
];
/** Written after a build: the newest source time that build started from. */
const BUILT_FROM = join(CONSOLE_DIR, ".next/flowplane-built-from");

function newestSource(): number {
  return Math.max(...BUILD_SOURCES.map((d) => newestMtime(join(CONSOLE_DIR, d))));
}

/**
 * Whether `.next` holds a production build of the current sources. Compared with the sources as
 * they were when that build started (not with when it ended), so an edit made while another
 * process was building forces a new build.
 */
export function buildIsFresh(): boolean {
  if (!existsSync(join(CONSOLE_DIR, ".next/BUILD_ID")) || !existsSync(BUILT_FROM)) return false;
  return Number(readFileSync(BUILT_FROM, "utf8")) >= newestSource();
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [NEXT_BIN, ...args], {
      cwd: CONSOLE_DIR,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("exit", (code) =>
      code === 0 ? ok() : fail(new Error(`next ${args.join(" ")} failed (${code}):\n${output}`)),
    );
  });
}

/** `next build` unless a fresh build exists; returns the build time in ms (0 when reused). */
export async function ensureBuild(): Promise<number> {
  if (buildIsFresh()) return 0;
  // Several e2e files run in parallel workers: one builds, the others wait and reuse its build.
  const lock = join(
    tmpdir(),
    `flowplane-console-build-${createHash("sha1").update(CONSOLE_DIR).digest("hex").slice(0, 8)}.lock`,
  );
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for 10 minutes: remove it if no build runs`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (buildIsFresh()) return 0;
    const started = Date.now();
    const from = newestSource();
    await run(["build"], { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" });
    writeFileSync(BUILT_FROM, String(from));
    return Date.now() - started;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === "object" && address ? ok(address.port) : fail(new Error("no port")),
      );
    });
  });
}

export type RunningConsole = { url: string; logs: () => string; stop: () => Promise<void> };

/** `next start` on `port` with `env`, resolved once /signin answers. */
export async function startConsole(port: number, env: Record<string, string>): Promise<RunningConsole> {
  const child: ChildProcess = spawn(
    process.execPath,
    [NEXT_BIN, "start", "-p", String(port), "-H", "127.0.0.1"],
    {
      cwd: CONSOLE_DIR,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((ok) => {
      if (child.exitCode !== null) return ok();
      child.once("exit", () => ok());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`next start exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/signin`);
      if (res.status === 200) return { url, logs: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`console did not answer on ${url} within 60 s:\n${output}`);
}

export type RunningBrowser = { context: BrowserContext; close: () => Promise<void> };

/**
 * Debian's Chromium (FLOWPLANE_CHROMIUM overrides the path) in a fresh profile, with the flags
 * this closed network needs: without the background-networking ones it keeps dialling out.
 */
export async function launchBrowser(viewport: { width: number; height: number }): Promise<RunningBrowser> {
  const profileDir = mkdtempSync(join(tmpdir(), "flowplane-chromium-"));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.FLOWPLANE_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/** The databases an e2e test made for its console: Postgres by URL, ClickHouse by URL and name. */
export type TestStores = { databaseUrl: string; clickhouseUrl: string; clickhouseDatabase: string };

export type ConsoleSession = {
  server: RunningConsole;
  browser: RunningBrowser;
  page: Page;
  close: () => Promise<void>;
};

/**
 * A fresh build served on a free port over the test's stores, and one Chromium page whose
 * uncaught errors and 5xx answers land in `pageErrors` (a test expects it empty at the end).
 */
export async function openConsoleSession(
  label: string,
  stores: TestStores,
  opts: { pageErrors: string[]; viewport?: { width: number; height: number } },
): Promise<ConsoleSession> {
  const buildMs = await ensureBuild();
  if (buildMs > 0) console.info(`${label}: next build took ${(buildMs / 1000).toFixed(1)} s`);
  const port = await freePort();
  const server = await startConsole(port, {
    DATABASE_URL: stores.databaseUrl,
    CLICKHOUSE_URL: stores.clickhouseUrl,
    CLICKHOUSE_DATABASE: stores.clickhouseDatabase,
    NEXTAUTH_SECRET: randomBytes(32).toString("hex"),
    NEXTAUTH_URL: `http://127.0.0.1:${port}`,
  });
  const browser = await launchBrowser(opts.viewport ?? { width: 1280, height: 900 });
  const page = await browser.context.newPage();
  page.on("pageerror", (e) => opts.pageErrors.push(e.message));
  page.on("response", (res) => {
    if (res.status() >= 500) opts.pageErrors.push(`${res.status()} ${res.url()}`);
  });
  return {
    server,
    browser,
    page,
    close: async () => {
      await browser.close();
      await server.stop();
    },
  };
}

/** Opens `path` signed out, signs in on /signin with the password form, and waits to be back. */
export async function signInAt(page: Page, baseUrl: string, path: string, email: string, password: string) {
  await page.goto(`${baseUrl}${path}`);
  await page.waitForURL(/\/signin/);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForURL((url) => url.pathname === path.split("?")[0]);
}
