import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { envFields, loadEnvOrExit } from "@flowplane/core/env";
import { z } from "zod";
import {
  checkPostgres,
  checkRedis,
  ensurePostgresDatabase,
  ROOT,
  startStore,
  type TStore,
} from "./lib/services.ts";

/**
 * `npm start`: migrate both databases, seed the demo tenant, start store, controller and console,
 * print where to sign in, and stop everything on Ctrl-C.
 */
const ZStartEnv = z.object({
  FLOWPLANE_DATA_DIR: z.string().default(join(ROOT, ".data")),
  DATABASE_URL: envFields.postgresUrl(),
  REDIS_URL: envFields.redisUrl(),
  CLICKHOUSE_URL: envFields.clickhouseUrl().optional(),
  CLICKHOUSE_DATABASE: envFields.clickhouseDatabase(),
  STORE_PORT: envFields.port(18123),
  CONTROLLER_PORT: envFields.port(7120),
  CONSOLE_PORT: envFields.port(3000),
  FLOWPLANE_TTL_DAYS: z.coerce.number().int().min(0).default(7),
});
const env = loadEnvOrExit(ZStartEnv);
const dataDir = env.FLOWPLANE_DATA_DIR;
mkdirSync(dataDir, { recursive: true });

const say = (msg: string) => console.log(`flowplane: ${msg}`);
const fail = (msg: string): never => {
  console.error(`flowplane: ${msg}`);
  process.exit(1);
};

/** Secrets the local product needs are generated once and kept in .data (gitignored, mode 600). */
function localSecrets(): Record<string, string> {
  const file = join(dataDir, "local.env.json");
  const secrets = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : {};
  const missing = { NEXTAUTH_SECRET: "base64url", FLOWPLANE_SECRETS_KEY: "base64" } as const;
  let changed = false;
  for (const [name, encoding] of Object.entries(missing)) {
    if (secrets[name]) continue;
    secrets[name] = randomBytes(32).toString(encoding);
    changed = true;
  }
  if (changed) {
    // Created owner-only (chmod for a file an older version created with the umask's mode).
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return secrets;
}

const children: { name: string; child: ChildProcess }[] = [];
let store: TStore | undefined;
let stopping = false;

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  say("stopping ...");
  // One at a time, newest first: the agent flushes its last rows while the controller still listens.
  for (const { child } of [...children].reverse()) {
    if (child.exitCode !== null) continue;
    await new Promise<void>((res) => {
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.once("exit", () => {
        clearTimeout(t);
        res();
      });
      child.kill("SIGTERM");
    });
  }
  await store?.stop();
  say("stopped");
  process.exit(code);
}
// Whatever path ends this process (a failed step calls process.exit), no child may outlive it:
// an orphaned store would keep the chDB data directory locked for the next start.
process.on("exit", () => {
  for (const { child } of children) if (child.exitCode === null) child.kill("SIGKILL");
  if (store && store.child.exitCode === null) store.child.kill("SIGTERM");
});
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

function prefixOutput(name: string, child: ChildProcess) {
  const write = (b: Buffer) => {
    for (const line of b.toString().split("\n")) if (line.trim()) process.stdout.write(`[${name}] ${line}\n`);
  };
  child.stdout?.on("data", write);
  child.stderr?.on("data", write);
}

function startChild(
  name: string,
  cmd: string,
  args: string[],
  cwd: string,
  extraEnv: Record<string, string>,
) {
  // Own process group: a terminal's Ctrl-C reaches only this script, which stops children in order.
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  prefixOutput(name, child);
  child.once("exit", (code, signal) => {
    if (!stopping) {
      console.error(`flowplane: ${name} exited (${code ?? signal}); stopping everything`);
      void stopAll(1);
    }
  });
  children.push({ name, child });
  return child;
}

async function waitHealthy(name: string, url: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(500);
  }
  fail(`${name} did not become healthy at ${url} within ${timeoutMs / 1000} s (last answer: ${last})`);
}

/** A start-up step: its own line, progress lines from the step indented under it, then its time. */
async function runStep(label: string, fn: (progress: (line: string) => void) => Promise<unknown>) {
  const started = Date.now();
  say(`${label} ...`);
  try {
    await fn((line) => console.log(`    ${line}`));
  } catch (err) {
    fail(`${label} failed: ${(err as Error).message}`);
  }
  say(`${label}: done (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

try {
  await checkPostgres(env.DATABASE_URL.replace(/\/[^/?]*(\?|$)/, "/postgres$1"));
  await checkRedis(env.REDIS_URL);
} catch (err) {
  fail((err as Error).message);
}

const secrets = localSecrets();

await runStep("migrating PostgreSQL", async (progress) => {
  await ensurePostgresDatabase(env.DATABASE_URL);
  const { migrate } = await import("@flowplane/db/migrate");
  await migrate(env.DATABASE_URL, { log: progress });
});

let clickhouseUrl = env.CLICKHOUSE_URL;
if (!clickhouseUrl) {
  await runStep(
    `starting the embedded ClickHouse store (data in ${join(dataDir, "clickhouse")})`,
    async () => {
      store = await startStore({
        dataDir: join(dataDir, "clickhouse"),
        port: env.STORE_PORT,
        readyFile: join(dataDir, "store.ready.json"),
        detached: true,
      });
    },
  );
  clickhouseUrl = store?.url;
}
if (!clickhouseUrl) fail("no ClickHouse URL");
const chUrl = clickhouseUrl as string;

await runStep("migrating ClickHouse", async () => {
  const { migrateClickhouse } = await import("@flowplane/query/ddl");
  await migrateClickhouse({ url: chUrl, database: env.CLICKHOUSE_DATABASE, ttlDays: env.FLOWPLANE_TTL_DAYS });
});

let login = { email: "demo@flowplane.local", password: "" };
let demo = { orgId: "", groupId: "" };
await runStep("seeding the demo organization", async () => {
  const { getDb } = await import("@flowplane/db/client");
  const { seedDemo } = await import("@flowplane/db/seed");
  const loginFile = join(dataDir, "demo-login.json");
  const result = await seedDemo(getDb(env.DATABASE_URL));
  demo = { orgId: result.orgId, groupId: result.groupId };
  if (result.password) {
    login = { email: result.user.email, password: result.password };
    writeFileSync(loginFile, JSON.stringify(login, null, 2));
    chmodSync(loginFile, 0o600);
  } else if (existsSync(loginFile)) {
    login = JSON.parse(readFileSync(loginFile, "utf8"));
  }
});

await runStep("loading 24 h of demo history (first start only)", async (progress) => {
  const { createClickhouse } = await import("@flowplane/query/client");
  const ch = createClickhouse({ url: chUrl, database: env.CLICKHOUSE_DATABASE });
  const rs = await ch.query({
    query: "SELECT count() AS n FROM l4_flow_log WHERE org_id = {org:UUID}",
    query_params: { org: demo.orgId },
    format: "JSONEachRow",
  });
  const [{ n } = { n: "0" }] = await rs.json<{ n: string }>();
  await ch.close();
  if (Number(n) > 0) return progress(`the demo organization already has ${n} flow rows`);
  // Real captures through the agent's analyzer, time-shifted over the last day: the pages have
  // history to show before the live demo agent has run for long.
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "scripts/demo-data.ts"),
      "--org",
      demo.orgId,
      "--rows",
      "50000",
      "--hours",
      "24",
    ],
    {
      cwd: ROOT,
      env: { ...process.env, CLICKHOUSE_URL: chUrl, CLICKHOUSE_DATABASE: env.CLICKHOUSE_DATABASE },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let err = "";
  let shownAt = 0;
  child.stderr?.on("data", (b: Buffer) => {
    err += b;
    const last = b
      .toString()
      .split(/[\r\n]/)
      .filter((l) => l.trim())
      .pop();
    // The generator redraws a progress bar; one line every 2 s is enough here.
    if (last && !last.startsWith("{") && Date.now() - shownAt > 2000) {
      shownAt = Date.now();
      progress(last.trim());
    }
  });
  const code = await new Promise<number | null>((res) => child.once("exit", res));
  if (code !== 0) throw new Error(`demo data failed:\n${err.slice(-2000)}`);
});

await runStep("building the console (cached after the first time)", async () => {
  const child = spawn(
    join(ROOT, "node_modules/.bin/turbo"),
    ["run", "build", "--filter=@flowplane/console", "--output-logs=errors-only", "--env-mode=loose"],
    {
      cwd: ROOT,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", NEXT_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout?.on("data", (b) => (out += b));
  child.stderr?.on("data", (b) => (out += b));
  const code = await new Promise<number | null>((res) => child.once("exit", res));
  if (code !== 0) throw new Error(`console build failed:\n${out.slice(-4000)}`);
});

const common = {
  DATABASE_URL: env.DATABASE_URL,
  REDIS_URL: env.REDIS_URL,
  CLICKHOUSE_URL: chUrl,
  CLICKHOUSE_DATABASE: env.CLICKHOUSE_DATABASE,
  // One key for both: the console seals cloud credentials the controller's syncs open. An
  // operator's own key in the environment wins over the generated one.
  FLOWPLANE_SECRETS_KEY: process.env.FLOWPLANE_SECRETS_KEY ?? (secrets.FLOWPLANE_SECRETS_KEY as string),
};
startChild(
  "controller",
  process.execPath,
  ["--import", "tsx", "src/main.ts"],
  join(ROOT, "apps/controller"),
  {
    ...common,
    CONTROLLER_PORT: String(env.CONTROLLER_PORT),
  },
);
const consoleUrl = `http://127.0.0.1:${env.CONSOLE_PORT}`;
startChild(
  "console",
  join(ROOT, "node_modules/.bin/next"),
  ["start", "-p", String(env.CONSOLE_PORT), "-H", "127.0.0.1"],
  join(ROOT, "apps/console"),
  {
    ...common,
    NEXTAUTH_SECRET: secrets.NEXTAUTH_SECRET as string,
    NEXTAUTH_URL: consoleUrl,
    NEXT_TELEMETRY_DISABLED: "1",
    NODE_ENV: "production",
  },
);

await waitHealthy("controller", `http://127.0.0.1:${env.CONTROLLER_PORT}/healthz`);
await waitHealthy("console", `${consoleUrl}/healthz`);

const demoCapture = await startDemoAgent();

console.log(`
  Flowplane is running.
    console     ${consoleUrl}   (sign in: ${login.email} / ${login.password || "(password printed at first start; see .data/demo-login.json)"})
    controller  http://127.0.0.1:${env.CONTROLLER_PORT}   (/healthz, /metrics)
    clickhouse  ${chUrl}${store ? " (embedded store)" : ""}
    demo agent  replaying ${demoCapture} in a loop into the demo organization
  Press Ctrl-C to stop.
`);

/**
 * A real agent process replaying a real capture into the demo organization, enrolled like any
 * other agent (a token from the demo group, identity kept in .data/agent-demo), so the console
 * has live data at once.
 */
async function startDemoAgent(): Promise<string> {
  const { getDb } = await import("@flowplane/db/client");
  const { seedEnrollmentToken } = await import("@flowplane/db/seed");
  const db = getDb(env.DATABASE_URL);
  const stateDir = join(dataDir, "agent-demo");
  const stateFile = join(stateDir, "agent.json");
  let token: string | undefined;
  // A saved identity only counts while its agent still exists (the database may have been reset).
  const saved = existsSync(stateFile)
    ? (JSON.parse(readFileSync(stateFile, "utf8")) as { agentId?: string })
    : {};
  const known = saved.agentId
    ? await db.unsafe.agent.findFirst({ where: { id: saved.agentId, orgId: demo.orgId, disabledAt: null } })
    : null;
  if (!known) {
    rmSync(stateDir, { recursive: true, force: true });
    token = (await seedEnrollmentToken(db, demo.orgId, demo.groupId, { name: "demo agent", maxUses: 1 }))
      .token;
  }
  await db.disconnect();
  const capture = demoCapturePath();
  startChild(
    "agent",
    process.execPath,
    [
      join(ROOT, "apps/agent/bin/flowplane-agent.js"),
      "run",
      "--pcap",
      capture,
      "--loop",
      "--speed",
      "1x",
      "--controller",
      `http://127.0.0.1:${env.CONTROLLER_PORT}`,
      ...(token ? ["--token", token] : []),
      "--state-dir",
      stateDir,
    ],
    ROOT,
    {},
  );
  return capture;
}

/** The demo replays a public capture with HTTP, TLS and many short flows; the repo's own recordings otherwise. */
function demoCapturePath(): string {
  const shared = join(
    process.env.FLOWPLANE_SHARED_DIR ?? join(ROOT, "..", "shared"),
    "pcaps",
    "erspan-vlan-http-tls.pcap",
  );
  return existsSync(shared) ? shared : join(ROOT, "apps/agent/test/captures/http-curl.pcap");
}
