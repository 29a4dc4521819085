import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type ClickHouseClient, createClickhouse } from "./client.ts";
import { migrateClickhouse } from "./ddl/migrate.ts";
import { queryEnv } from "./env.ts";

/**
 * `@flowplane/query/testing`: a fresh, migrated ClickHouse database per test file. Uses the server
 * at CLICKHOUSE_URL (npm test starts one store for the whole run); without it, starts a store
 * process for this test process in a temp data directory (chDB allows one process per directory)
 * and stops it when the last database is dropped.
 */

export interface TestClickhouse {
  client: ClickHouseClient;
  url: string;
  database: string;
  drop(): Promise<void>;
}

const STORE_MAIN = fileURLToPath(new URL("../../../apps/controller/src/store/main.ts", import.meta.url));

interface OwnStore {
  url: string;
  child: ChildProcess;
  dataDir: string;
}
let ownStore: Promise<OwnStore> | undefined;
let users = 0;

async function startOwnStore(): Promise<OwnStore> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "fp-test-store-"));
  const readyFile = path.join(dataDir, "ready.json");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      STORE_MAIN,
      "--data-dir",
      path.join(dataDir, "data"),
      "--port",
      "0",
      "--ready-file",
      readyFile,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const kill = () => child.kill("SIGTERM");
  process.once("exit", kill);
  const deadline = Date.now() + 60_000;
  while (!existsSync(readyFile)) {
    if (child.exitCode !== null) throw new Error(`test store exited early: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`test store did not start within 60 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const { url } = JSON.parse(readFileSync(readyFile, "utf8")) as { url: string };
  child.once("exit", () => process.removeListener("exit", kill));
  return { url, child, dataDir };
}

async function stopOwnStore(store: OwnStore): Promise<void> {
  if (store.child.exitCode === null) {
    const exited = new Promise((r) => store.child.once("exit", r));
    store.child.kill("SIGTERM");
    await exited;
  }
  rmSync(store.dataDir, { recursive: true, force: true });
}

function databaseName(label: string): string {
  const run = queryEnv().FLOWPLANE_TEST_RUN ?? randomBytes(3).toString("hex");
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .slice(0, 24);
  return `fp_t_${run}_${safe}_${randomBytes(4).toString("hex")}`.toLowerCase();
}

export async function createTestClickhouse(label: string): Promise<TestClickhouse> {
  const envUrl = queryEnv().CLICKHOUSE_URL;
  let url: string;
  let store: OwnStore | undefined;
  if (envUrl) {
    url = envUrl;
  } else {
    users++;
    ownStore ??= startOwnStore();
    try {
      store = await ownStore;
    } catch (err) {
      users--;
      ownStore = undefined;
      throw err;
    }
    url = store.url;
  }
  const database = databaseName(label);
  await migrateClickhouse({ url, database, ttl: "off" });
  const client = createClickhouse({ url, database });
  let dropped = false;
  return {
    client,
    url,
    database,
    async drop() {
      if (dropped) return;
      dropped = true;
      try {
        await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      } finally {
        await client.close();
        if (store && --users === 0 && ownStore) {
          ownStore = undefined;
          await stopOwnStore(store);
        }
      }
    },
  };
}
