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
import { OrgScopeError } from "./org-scope.ts";
import { zUuid } from "./rows/index.ts";

export {
  type EncodedRows,
  encodeRows,
  insertEncoded,
  type RecordOptions,
  type RecordResult,
  recordRows,
} from "./record-rows.ts";
export { setTsvWriters, TsvBatchError, TsvRows, tsvNativeStatus } from "./record-tsv.ts";
export type { ClickHouseClient };
export { OrgScopeError };

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
