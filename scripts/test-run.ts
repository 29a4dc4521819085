import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { checkPostgres, checkRedis, ROOT, startStore, type TStore } from "./lib/services.ts";

/**
 * Test orchestration: fresh ids per run, one embedded ClickHouse store shared by every package
 * (each test file makes its own database in it), turbo runs each package's vitest, and the JSON
 * reports are totalled into the one closing line CI reads.
 */
const pgAdminUrl = process.env.FLOWPLANE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const run = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;

const sharedDir = process.env.FLOWPLANE_SHARED_DIR ?? join(ROOT, "..", "shared");
if (!existsSync(join(sharedDir, "pcaps"))) {
  console.error(
    `flowplane: the shared corpus is missing: expected ${sharedDir}/pcaps (put shared/ beside the clone or set FLOWPLANE_SHARED_DIR). Tests need it; refusing to run without it.`,
  );
  process.exit(1);
}

try {
  await checkPostgres(pgAdminUrl);
  await checkRedis(redisUrl);
} catch (err) {
  console.error(`flowplane: ${(err as Error).message}`);
  process.exit(1);
}

type TWorkspace = { name: string; dir: string };
function workspacesWithTests(): TWorkspace[] {
  const out: TWorkspace[] = [];
  for (const group of ["apps", "packages", "tooling"]) {
    const base = join(ROOT, group);
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base)) {
      const pkgFile = join(base, d, "package.json");
      if (!existsSync(pkgFile)) continue;
      const pkg = JSON.parse(readFileSync(pkgFile, "utf8"));
      if (pkg.scripts?.test) out.push({ name: pkg.name, dir: join(base, d) });
    }
  }
  return out;
}

const workspaces = workspacesWithTests();
// A report file of this run's own: a developer's ad-hoc vitest run in a package (which writes
// .vitest-report.json) can never be totalled in place of this run's results.
const reportName = `.vitest-report-${run}.json`;

let store: TStore | undefined;
const storeDir = mkdtempSync(join(tmpdir(), "flowplane-test-store-"));
let exitCode = 1;
try {
  if (process.env.CLICKHOUSE_URL) {
    console.log(`flowplane: tests use the ClickHouse at CLICKHOUSE_URL`);
  } else {
    store = await startStore({
      dataDir: join(storeDir, "data"),
      port: 0,
      readyFile: join(storeDir, "ready.json"),
    });
    console.log(`flowplane: embedded ClickHouse store for this run at ${store.url}`);
  }
  const env = {
    ...process.env,
    CLICKHOUSE_URL: process.env.CLICKHOUSE_URL ?? store?.url,
    FLOWPLANE_TEST_RUN: run,
    FLOWPLANE_TEST_PG_URL: pgAdminUrl,
    REDIS_URL: redisUrl,
    FLOWPLANE_SHARED_DIR: sharedDir,
    FLOWPLANE_VITEST_REPORT: reportName,
    NODE_ENV: "test",
    TURBO_TELEMETRY_DISABLED: "1",
    TURBO_NO_UPDATE_NOTIFIER: "1",
  };
  const filter = process.argv.slice(2).flatMap((f) => ["--filter", f]);
  const turbo = spawn(
    join(ROOT, "node_modules/.bin/turbo"),
    ["run", "test", "--continue", "--concurrency=2", "--env-mode=loose", "--output-logs=full", ...filter],
    { cwd: ROOT, env, stdio: "inherit" },
  );
  const turboCode = await new Promise<number>((res) => turbo.once("exit", (code) => res(code ?? 1)));

  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const lines: string[] = [];
  const ran = filter.length ? workspaces.filter((w) => process.argv.slice(2).includes(w.name)) : workspaces;
  for (const w of ran) {
    const report = join(w.dir, reportName);
    if (!existsSync(report)) {
      // A package whose runner crashed before reporting counts as one failure, never as silence.
      failed += 1;
      lines.push(`  ${w.name}: no test report (the test run crashed; see its output above)`);
      continue;
    }
    const r = JSON.parse(readFileSync(report, "utf8"));
    rmSync(report, { force: true });
    const suiteErrors = (r.testResults ?? []).filter(
      (t: { status: string; assertionResults: unknown[] }) =>
        t.status === "failed" && t.assertionResults.length === 0,
    ).length;
    passed += r.numPassedTests;
    failed += r.numFailedTests + suiteErrors;
    skipped += r.numPendingTests + r.numTodoTests;
    lines.push(
      `  ${w.name}: ${r.numPassedTests} passed, ${r.numFailedTests + suiteErrors} failed${suiteErrors ? ` (${suiteErrors} file(s) failed to load)` : ""}`,
    );
  }
  if (turboCode !== 0 && failed === 0) {
    failed += 1;
    lines.push(`  turbo exited ${turboCode} with no failing test reported`);
  }
  console.log(`\nTest summary (run ${run}):\n${lines.join("\n")}`);
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  exitCode = failed === 0 ? 0 : 1;
} catch (err) {
  console.error(`flowplane: ${(err as Error).message}`);
  console.log("0 passed, 1 failed");
} finally {
  await store?.stop();
  rmSync(storeDir, { recursive: true, force: true });
  await dropLeftoverDatabases().catch(() => {});
}
process.exit(exitCode);

/** Test files drop their own databases; this catches the ones a crashed file left behind. */
async function dropLeftoverDatabases() {
  const client = new pg.Client({ connectionString: pgAdminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE $1",
      [`fp_t_${run}_%`],
    );
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
