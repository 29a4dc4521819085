import {
  type ClickHouseClient,
  ClickHouseLogLevel,
  type ClickHouseSettings,
  type Logger as ClientLogger,
  createClient,
  type ErrorLogParams,
  type LogParams,
  type WarnLogParams,
} from "@clickhouse/client";
import { createLogger } from "@flowplane/core/log";
import { encodeRow, ROW_TABLES, type TRowTableName, zUuid } from "./rows/index.ts";

export type { ClickHouseClient };

/** Limits every client query carries unless a call overrides them. */
export const DEFAULT_QUERY_LIMITS = {
  max_execution_time: 30,
  max_memory_usage: "2000000000",
} as const satisfies ClickHouseSettings;

/** Added to reads made through `orgQuery`: bounded scans and no writes. */
export const DEFAULT_READ_LIMITS = {
  max_rows_to_read: "200000000",
  readonly: "2",
} as const satisfies ClickHouseSettings;

export interface ClickhouseConfig {
  url: string;
  database: string;
  username?: string;
  password?: string;
  /** Extra settings for every query (merged over the defaults). */
  settings?: ClickHouseSettings;
}

const clientLog = createLogger("clickhouse-client");

/**
 * Routes the client's own logging into our logger. Failed requests are logged at debug: the
 * error also rejects the caller's promise, which decides whether it matters.
 */
class ClientLogBridge implements ClientLogger {
  trace(p: LogParams): void {
    clientLog.trace({ module: p.module, args: p.args }, p.message);
  }
  debug(p: LogParams): void {
    clientLog.debug({ module: p.module, args: p.args }, p.message);
  }
  info(p: LogParams): void {
    clientLog.debug({ module: p.module, args: p.args }, p.message);
  }
  warn(p: WarnLogParams): void {
    clientLog.warn({ module: p.module, args: p.args, err: p.err }, p.message);
  }
  error(p: ErrorLogParams): void {
    clientLog.debug({ module: p.module, args: p.args, err: p.err }, p.message);
  }
}

/** A `@clickhouse/client` for a store or a ClickHouse server, with the default limits set. */
export function createClickhouse(cfg: ClickhouseConfig): ClickHouseClient {
  return createClient({
    url: cfg.url,
    database: cfg.database,
    username: cfg.username ?? "default",
    password: cfg.password ?? "",
    request_timeout: 60_000,
    log: { LoggerClass: ClientLogBridge, level: ClickHouseLogLevel.WARN },
    clickhouse_settings: {
      ...DEFAULT_QUERY_LIMITS,
      // 64-bit values as strings: JS numbers lose precision past 2^53 (flow ids).
      output_format_json_quote_64bit_integers: 1,
      ...cfg.settings,
    },
  });
}

export class OrgScopeError extends Error {
  override name = "OrgScopeError";
}

export interface OrgQueryOptions {
  settings?: ClickHouseSettings;
  abortSignal?: AbortSignal;
}

/**
 * The one way telemetry is read: the org id is a bound parameter (never spliced), and the SQL must
 * filter on `{org_id:UUID}`. Refuses to run otherwise.
 */
export async function orgQuery<T = Record<string, unknown>>(
  client: ClickHouseClient,
  orgId: string,
  sql: string,
  params: Record<string, unknown> = {},
  opts: OrgQueryOptions = {},
): Promise<T[]> {
  const org = zUuid.safeParse(orgId);
  if (!org.success)
    throw new OrgScopeError("orgQuery needs the org id (a UUID) of the caller's organization");
  if (!sql.includes("{org_id:UUID}")) throw new OrgScopeError("orgQuery SQL must filter on {org_id:UUID}");
  if ("org_id" in params) throw new OrgScopeError("org_id is bound by orgQuery itself");
  const rs = await client.query({
    query: sql,
    query_params: { ...params, org_id: org.data },
    format: "JSONEachRow",
    clickhouse_settings: { ...DEFAULT_READ_LIMITS, ...opts.settings },
    ...(opts.abortSignal ? { abort_signal: opts.abortSignal } : {}),
  });
  return rs.json<T>();
}

export interface RecordResult {
  inserted: number;
  rejected: { index: number; error: string }[];
}

/**
 * Validates each row against its table's schema and writes the valid ones for `orgId`. A row
 * naming another org is refused; a row naming none is written for `orgId`; `agentId`, when
 * given, fills rows that name no agent. Bad rows are reported by index, good rows kept.
 */
export async function recordRows(
  client: ClickHouseClient,
  table: TRowTableName,
  orgId: string,
  rows: readonly unknown[],
  opts: { agentId?: string } = {},
): Promise<RecordResult> {
  const def = ROW_TABLES[table];
  if (!def) throw new Error(`unknown telemetry table '${table}'`);
  const org = zUuid.safeParse(orgId);
  if (!org.success) throw new OrgScopeError("recordRows needs the org id (a UUID) of the rows' organization");
  const values: Record<string, unknown>[] = [];
  const rejected: RecordResult["rejected"] = [];
  rows.forEach((row, index) => {
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      rejected.push({ index, error: "row: expected an object" });
      return;
    }
    const r = row as Record<string, unknown>;
    if (r.org_id !== undefined && r.org_id !== null && String(r.org_id).toLowerCase() !== org.data) {
      rejected.push({ index, error: "org_id: the row belongs to another organization" });
      return;
    }
    const candidate: Record<string, unknown> = { ...r, org_id: org.data };
    if (candidate.agent_id === undefined && opts.agentId !== undefined) candidate.agent_id = opts.agentId;
    const parsed = def.schema.safeParse(candidate);
    if (!parsed.success) {
      const error = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join(".") || "row"}: ${i.message}`)
        .join("; ");
      rejected.push({ index, error });
      return;
    }
    values.push(encodeRow(def, parsed.data as Record<string, unknown>));
  });
  if (values.length > 0) await client.insert({ table, values, format: "JSONEachRow" });
  return { inserted: values.length, rejected };
}
