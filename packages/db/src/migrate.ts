import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

/** The committed migrations: `migrations/NNNN_name/migration.sql`, applied in name order. */
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "migrations");

export const MIGRATIONS_TABLE = "_flowplane_migrations";

// Any constant works as long as every Flowplane process uses the same one: it serialises migrators
// across processes (e.g. two controllers starting at once) on the same database.
const ADVISORY_LOCK_KEY = 7_243_511_902;

export interface MigrateOptions {
  /** Receives one line per step (`applying 0002_x ... done in 12 ms`). Silent when omitted. */
  log?: (line: string) => void;
  /** Migrations folder; tests point it at a temporary one. */
  dir?: string;
}

export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

export interface MigrationFile {
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

const MIGRATION_NAME = /^\d{4}_[a-z0-9_]+$/;

export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory() && MIGRATION_NAME.test(e.name))
    .map((e) => e.name)
    .sort();
  const seen = new Set<string>();
  const out: MigrationFile[] = [];
  for (const name of names) {
    const number = name.slice(0, 4);
    if (seen.has(number)) throw new MigrationError(`two migrations share the number ${number} in ${dir}`);
    seen.add(number);
    const file = join(dir, name, "migration.sql");
    const sql = await readFile(file, "utf8");
    // The runner owns the transaction; a migration that commits on its own could leave half of
    // itself applied, and CONCURRENTLY cannot run inside a transaction at all.
    const forbidden = sql.match(/^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION)\s*;|\bCONCURRENTLY\b/im);
    if (forbidden) {
      throw new MigrationError(
        `${file}: "${forbidden[0].trim()}" is not allowed, the runner wraps each migration in a transaction`,
      );
    }
    out.push({ name, file, sql, checksum: sha256(sql) });
  }
  return out;
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * Applies every pending migration to the database at `url`. Holds a Postgres advisory lock for the
 * whole run, refuses to continue if an applied migration's file changed, and applies each pending
 * migration in its own transaction together with its bookkeeping row, so a failure leaves the
 * database exactly as the previous migration left it. Running it again is a no-op.
 */
export async function migrate(url: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const log = options.log ?? (() => {});
  const migrations = await readMigrations(options.dir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // Postgres notices (e.g. "relation already exists, skipping") are noise here.
  client.on("notice", () => {});
  try {
    await client.query("SELECT pg_advisory_lock($1)", [ADVISORY_LOCK_KEY]);
    try {
      return await applyPending(client, migrations, log);
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [ADVISORY_LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

async function applyPending(
  client: pg.Client,
  migrations: MigrationFile[],
  log: (line: string) => void,
): Promise<MigrateResult> {
  await client.query(`CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (
    name TEXT PRIMARY KEY,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`);
  const { rows } = await client.query<{ name: string; checksum: string }>(
    `SELECT name, checksum FROM "${MIGRATIONS_TABLE}" ORDER BY name`,
  );
  const applied = new Map(rows.map((r) => [r.name, r.checksum]));

  // Check every applied migration before changing anything: an edited migration means this
  // database and the code disagree about history, and guessing is how data gets lost.
  for (const m of migrations) {
    const checksum = applied.get(m.name);
    if (checksum !== undefined && checksum !== m.checksum) {
      throw new MigrationError(
        `migration ${m.name} was already applied but ${m.file} has changed since ` +
          `(checksum ${checksum.slice(0, 12)}… in the database, ${m.checksum.slice(0, 12)}… on disk). ` +
          "Applied migrations must never be edited: restore the file and add a new migration instead.",
      );
    }
  }
  const known = new Set(migrations.map((m) => m.name));
  for (const name of applied.keys()) {
    if (!known.has(name))
      log(`warning: ${name} is applied in the database but missing from the migrations folder`);
  }

  const result: MigrateResult = { applied: [], skipped: [] };
  for (const m of migrations) {
    if (applied.has(m.name)) {
      result.skipped.push(m.name);
      continue;
    }
    const started = performance.now();
    log(`applying ${m.name} ...`);
    try {
      await client.query("BEGIN");
      await client.query(m.sql);
      await client.query(`INSERT INTO "${MIGRATIONS_TABLE}" (name, checksum) VALUES ($1, $2)`, [
        m.name,
        m.checksum,
      ]);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      const reason = err instanceof Error ? err.message : String(err);
      throw new MigrationError(`migration ${m.name} failed (${m.file}): ${reason}; it was rolled back`, {
        cause: err,
      });
    }
    log(`applying ${m.name} ... done in ${Math.round(performance.now() - started)} ms`);
    result.applied.push(m.name);
  }
  if (result.applied.length === 0)
    log(`database is up to date (${result.skipped.length} migrations applied)`);
  return result;
}

/** Creates the database named in `url` when it does not exist yet (connecting to `postgres` on that server). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const dbName = decodeURIComponent(target.pathname.replace(/^\//, ""));
  if (!dbName) throw new MigrationError(`the database URL names no database`);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [dbName]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE ${quoteIdent(dbName)}`);
    return true;
  } catch (err) {
    // Two processes may race to create it; the loser finds it there, which is what it wanted.
    if ((err as { code?: string }).code === "42P04") return false;
    throw err;
  } finally {
    await client.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
