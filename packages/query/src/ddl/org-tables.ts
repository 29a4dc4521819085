import type { ClickHouseClient } from "@clickhouse/client";
import { zUuid } from "../rows/index.ts";
import { loadMigrations, type Migration } from "./migrate.ts";

const IDENT = "([A-Za-z_][A-Za-z0-9_]*)";
// `CREATE TABLE name (columns) ENGINE ...` or `CREATE TABLE name AS other` (same columns).
const CREATE_TABLE = new RegExp(
  `^CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${IDENT}\\s*(?:\\(([\\s\\S]*?)\\)\\s*ENGINE|AS\\s+${IDENT})`,
  "i",
);
const DROP_TABLE = new RegExp(`^DROP\\s+TABLE\\s+(?:IF\\s+EXISTS\\s+)?${IDENT}`, "i");
const ORG_COLUMN = /^\s*org_id\s/m;

/**
 * The tables holding organizations' rows, read from the committed DDL (not a hand-kept list), so
 * a new telemetry table is purged with its org from the migration that creates it on.
 * Materialized views are not tables here: their `TO` targets hold the rows. The integration test
 * compares this with a migrated database's `system.columns`, so a form this reader misses fails there.
 */
export function orgTables(migrations: Migration[] = loadMigrations()): string[] {
  const tables = new Set<string>();
  for (const m of migrations) {
    for (const statement of m.statements) {
      const created = CREATE_TABLE.exec(statement);
      if (created) {
        const [, name, columns, copyOf] = created;
        if ((columns && ORG_COLUMN.test(columns)) || (copyOf && tables.has(copyOf)))
          tables.add(name as string);
        continue;
      }
      const dropped = DROP_TABLE.exec(statement);
      if (dropped) tables.delete(dropped[1] as string);
    }
  }
  return [...tables].sort();
}

export type TOrgPurgeProgress =
  | { step: "table"; table: string; index: number; total: number; rows: number }
  | { step: "waiting"; table: string; rowsLeft: number; waitedMs: number };

export interface DeleteOrgRowsOptions {
  /** Called as each table starts and while a deletion is still running. */
  onProgress?: (p: TOrgPurgeProgress) => void;
  /** How often a running deletion is checked (default 500 ms) and how long it may take per table. */
  pollMs?: number;
  timeoutMs?: number;
  tables?: string[];
}

/**
 * Removes one organization's rows from every table of `orgTables()` with
 * `ALTER TABLE … DELETE WHERE org_id = {org:UUID}` (a mutation: parts are rewritten, the rows
 * are physically gone, not only hidden), then waits until none is left. Returns the rows each
 * table held. A mutation that fails, or outlasts `timeoutMs`, throws naming the table: the caller
 * keeps the org and tries again later (deleting nothing twice is harmless).
 */
export async function deleteOrgRows(
  client: ClickHouseClient,
  orgId: string,
  opts: DeleteOrgRowsOptions = {},
): Promise<Record<string, number>> {
  const org = zUuid.parse(orgId);
  const tables = opts.tables ?? orgTables();
  const pollMs = opts.pollMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const removed: Record<string, number> = {};
  const count = async (table: string) => {
    const rs = await client.query({
      query: `SELECT count() AS n FROM ${table} WHERE org_id = {org:UUID}`,
      query_params: { org },
      format: "JSONEachRow",
    });
    return Number((await rs.json<{ n: string }>())[0]?.n ?? 0);
  };
  for (const [index, table] of tables.entries()) {
    // Names come from our own DDL; checked anyway since they are spliced (identifiers cannot be bound in ALTER).
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new Error(`not a table name: ${table}`);
    const rows = await count(table);
    removed[table] = rows;
    opts.onProgress?.({ step: "table", table, index, total: tables.length, rows });
    if (rows === 0) continue;
    await client.command({
      query: `ALTER TABLE ${table} DELETE WHERE org_id = {org:UUID}`,
      query_params: { org },
    });
    const started = Date.now();
    for (;;) {
      const left = await count(table);
      if (left === 0) break;
      const failed = await client.query({
        query: `SELECT latest_fail_reason AS reason FROM system.mutations
                WHERE database = currentDatabase() AND table = {table:String} AND NOT is_done
                  AND latest_fail_reason != '' AND position(command, {org:String}) > 0 LIMIT 1`,
        query_params: { table, org },
        format: "JSONEachRow",
      });
      const reason = (await failed.json<{ reason: string }>())[0]?.reason;
      if (reason) throw new Error(`deleting org ${org} from ${table} failed: ${reason}`);
      const waitedMs = Date.now() - started;
      if (waitedMs > timeoutMs)
        throw new Error(`deleting org ${org} from ${table}: ${left} rows left after ${waitedMs} ms`);
      opts.onProgress?.({ step: "waiting", table, rowsLeft: left, waitedMs });
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  return removed;
}
