import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { createLogger, type Logger } from "@flowplane/core/log";
import {
  resolveTtlDays,
  TTL_TABLES,
  type TTtlConfig,
  type TTtlTable,
  ttlDaysOf,
  ttlExpression,
} from "./ttl.ts";

export interface Migration {
  version: number;
  name: string;
  statements: string[];
  checksum: string;
}

const DDL_DIR = new URL(".", import.meta.url);
const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The committed migrations, in order. Statements end with `;` at the end of a line. */
export function loadMigrations(): Migration[] {
  return readdirSync(DDL_DIR)
    .filter((f) => FILE_RE.test(f))
    .sort()
    .map((file) => {
      const [, version, name] = FILE_RE.exec(file) as RegExpExecArray;
      const sql = readFileSync(new URL(file, DDL_DIR), "utf8");
      const statements = sql
        .split(/;\s*$/m)
        .map((s) =>
          s
            .split("\n")
            .filter((line) => !/^\s*--/.test(line))
            .join("\n")
            .trim(),
        )
        .filter((s) => s.length > 0);
      return {
        version: Number(version),
        name: name as string,
        statements,
        checksum: createHash("sha256").update(sql).digest("hex"),
      };
    });
}

export interface MigrateOptions {
  url: string;
  database: string;
  username?: string;
  password?: string;
  ttl?: TTtlConfig;
  /** Shorthand for `ttl: { ttlDays }`: the same days for every table (0 = off). `ttl` wins. */
  ttlDays?: number;
  log?: Logger;
  /** Stop after this migration version (tests: a database as an older release left it). */
  upTo?: number;
}

export interface MigrateResult {
  applied: string[];
  ttlChanged: { table: TTtlTable; from: number; to: number }[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Applies the ClickHouse DDL in order, records each in `_flowplane_migrations`, then brings every
 * table's TTL to the configured days. Idempotent: a second run changes nothing. ClickHouse has no
 * DDL transactions, so each statement is itself idempotent (IF NOT EXISTS) and a migration is
 * recorded only after all its statements ran; a half-applied one is re-run as a whole.
 */
export async function migrateClickhouse(opts: MigrateOptions): Promise<MigrateResult> {
  if (!IDENT.test(opts.database)) throw new Error(`invalid ClickHouse database name '${opts.database}'`);
  const log = opts.log ?? createLogger("query-migrate");
  const auth = { username: opts.username ?? "default", password: opts.password ?? "" };
  const admin = createClient({ url: opts.url, ...auth });
  try {
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${opts.database}` });
  } finally {
    await admin.close();
  }
  // A migration may backfill a rollup from every stored raw row (0005): no 30 s client timeout.
  const client = createClient({
    url: opts.url,
    database: opts.database,
    request_timeout: 3_600_000,
    // Progress headers keep a long backfill's connection busy through idle timeouts on the way.
    clickhouse_settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: "60000" },
    ...auth,
  });
  try {
    const applied = await applyMigrations(client, log, opts.upTo ?? Number.POSITIVE_INFINITY);
    const ttlChanged = await applyTtl(
      client,
      opts.database,
      resolveTtlDays(opts.ttl ?? (opts.ttlDays !== undefined ? { ttlDays: opts.ttlDays } : undefined)),
      log,
      opts.upTo !== undefined,
    );
    return { applied, ttlChanged };
  } finally {
    await client.close();
  }
}

async function applyMigrations(client: ClickHouseClient, log: Logger, upTo: number): Promise<string[]> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS _flowplane_migrations
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = MergeTree ORDER BY version`,
  });
  const rs = await client.query({
    query: "SELECT version, name, checksum FROM _flowplane_migrations ORDER BY version",
    format: "JSONEachRow",
  });
  const done = new Map(
    (await rs.json<{ version: number; name: string; checksum: string }>()).map((r) => [r.version, r]),
  );
  const applied: string[] = [];
  for (const m of loadMigrations().filter((m) => m.version <= upTo)) {
    const prior = done.get(m.version);
    if (prior) {
      if (prior.checksum !== m.checksum) {
        throw new Error(
          `ClickHouse migration ${m.version}_${m.name} was edited after it was applied (checksum differs): add a new migration instead`,
        );
      }
      continue;
    }
    log.info(
      { migration: `${m.version}_${m.name}`, statements: m.statements.length },
      "applying ClickHouse migration",
    );
    for (const statement of m.statements) await client.command({ query: statement });
    await client.insert({
      table: "_flowplane_migrations",
      values: [{ version: m.version, name: m.name, checksum: m.checksum }],
      format: "JSONEachRow",
    });
    applied.push(`${m.version}_${m.name}`);
  }
  if (applied.length === 0) log.info("ClickHouse schema up to date");
  return applied;
}

async function applyTtl(
  client: ClickHouseClient,
  database: string,
  wanted: Record<TTtlTable, number>,
  log: Logger,
  partial: boolean,
): Promise<MigrateResult["ttlChanged"]> {
  const rs = await client.query({
    query:
      "SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND name IN {names:Array(String)}",
    query_params: { db: database, names: Object.keys(TTL_TABLES) },
    format: "JSONEachRow",
  });
  const current = new Map(
    (await rs.json<{ name: string; engine_full: string }>()).map((r) => [r.name, r.engine_full]),
  );
  const changed: MigrateResult["ttlChanged"] = [];
  for (const table of Object.keys(TTL_TABLES) as TTtlTable[]) {
    const engineFull = current.get(table);
    if (engineFull === undefined && partial) continue;
    if (engineFull === undefined)
      throw new Error(`ClickHouse table ${database}.${table} is missing after migrations`);
    const from = ttlDaysOf(engineFull);
    const to = wanted[table];
    if (from === to) continue;
    const query =
      to === 0
        ? `ALTER TABLE ${table} REMOVE TTL`
        : `ALTER TABLE ${table} MODIFY TTL ${ttlExpression(table, to)}`;
    log.info({ table, from, to }, "changing ClickHouse TTL");
    await client.command({ query });
    changed.push({ table, from, to });
  }
  return changed;
}
