import { randomBytes } from "node:crypto";
import pg from "pg";
import { createDb, type Db } from "./client.ts";
import { dbEnv } from "./env.ts";
import { migrate, quoteIdent } from "./migrate.ts";

export interface TestDatabase {
  /** Connection URL of the fresh, migrated database. */
  url: string;
  name: string;
  db: Db;
  /** Disconnects the client and drops the database (even with connections left open). */
  drop(): Promise<void>;
}

/** The server-level URL (any database on it) with the database name replaced. */
export function withDatabase(serverUrl: string, name: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

export function testDatabaseName(label: string, run = dbEnv().FLOWPLANE_TEST_RUN): string {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "");
  const runId = clean(run ?? randomBytes(3).toString("hex")).slice(0, 20);
  // Postgres truncates identifiers at 63 bytes; keep the random tail so names stay unique.
  return `fp_t_${runId}_${clean(label).slice(0, 24)}_${randomBytes(4).toString("hex")}`;
}

async function admin<T>(serverUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database on FLOWPLANE_TEST_PG_URL's server, migrated, with a client. Every test file that
 * needs Postgres makes its own, so parallel files and parallel runs never share rows.
 */
export async function createTestDatabase(
  label: string,
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const serverUrl = dbEnv().FLOWPLANE_TEST_PG_URL;
  const name = testDatabaseName(label);
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = withDatabase(serverUrl, name);
  const drop = async () => {
    await admin(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
  };
  try {
    if (options.migrate !== false) await migrate(url);
  } catch (err) {
    await drop();
    throw err;
  }
  const db = createDb(url);
  return {
    url,
    name,
    db,
    drop: async () => {
      await db.disconnect().catch(() => {});
      await drop();
    },
  };
}
