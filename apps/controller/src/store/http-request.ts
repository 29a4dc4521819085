import { randomUUID } from "node:crypto";

/**
 * Turns the URL parameters of a ClickHouse HTTP request into what the engine needs. Kept free of
 * chDB so it can be unit-tested: every value that reaches SQL text is validated or quoted here.
 */

/** Parameters that steer the HTTP layer or the client, never engine settings. */
const TRANSPORT_PARAMS = new Set([
  "query",
  "database",
  "default_format",
  "query_id",
  "session_id",
  "session_timeout",
  "session_check",
  "user",
  "password",
  "quota_key",
  "role",
  "compress",
  "decompress",
  "buffer_size",
  "wait_end_of_query",
  "enable_http_compression",
  "http_zlib_compression_level",
  "http_response_compression_method",
  "send_progress_in_http_headers",
  "http_headers_progress_interval_ms",
  "http_send_progress_interval_ms",
  "http_response_buffer_size",
  "http_wait_end_of_query",
  "http_native_compression_disable_checksumming_on_decompress",
  "cancel_http_readonly_queries_on_client_close",
  "output_format_parallel_formatting",
]);

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NUMERIC = /^-?\d+(\.\d+)?$/;

export class BadRequestError extends Error {
  override name = "BadRequestError";
}

export interface ParsedParams {
  urlQuery: string | undefined;
  database: string | undefined;
  defaultFormat: string;
  queryId: string;
  settings: Map<string, string>;
  params: Record<string, string>;
}

export function parseSearchParams(search: URLSearchParams): ParsedParams {
  const settings = new Map<string, string>();
  const params: Record<string, string> = {};
  for (const [key, value] of search) {
    if (key.startsWith("param_")) {
      const name = key.slice("param_".length);
      if (!PARAM_NAME.test(name)) throw new BadRequestError(`Invalid query parameter name '${name}'`);
      params[name] = value;
      continue;
    }
    if (TRANSPORT_PARAMS.has(key)) continue;
    if (!SETTING_NAME.test(key)) throw new BadRequestError(`Invalid setting name '${key}'`);
    settings.set(key, value);
  }
  const database = search.get("database") ?? undefined;
  return {
    urlQuery: search.get("query") ?? undefined,
    database: database === "" ? undefined : database,
    defaultFormat: search.get("default_format") || "TabSeparated",
    queryId: search.get("query_id") || randomUUID(),
    settings,
    params,
  };
}

/**
 * The settings as one `SET a = 1, b = 'x'` statement (none when there are none): one engine call
 * per request instead of one per setting. Values are numbers or quoted string literals, never raw
 * text. `readonly` goes last: a server applies URL settings together, and the engine checks a SET's
 * changes against the settings before it, so `readonly=1` among them never refuses the others.
 */
export function renderSetStatements(settings: Map<string, string>): string[] {
  if (settings.size === 0) return [];
  const ordered = [...settings].sort(([a], [b]) => Number(a === "readonly") - Number(b === "readonly"));
  const assignments = ordered.map(
    ([name, value]) => `${name} = ${NUMERIC.test(value) ? value : quoteString(value)}`,
  );
  return [`SET ${assignments.join(", ")}`];
}

export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

const INSERT_WITH_FORMAT = /^\s*INSERT\s+INTO\b[\s\S]*\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i;

/** An `INSERT ... FORMAT X` whose data comes in the body: the engine takes those bytes as is. */
export function insertFormatOf(sql: string): string | undefined {
  return INSERT_WITH_FORMAT.exec(sql)?.[1];
}

const TRAILING_FORMAT = /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i;

/** The output format a query will produce, for the X-ClickHouse-Format header. */
export function outputFormatOf(sql: string, defaultFormat: string): string {
  return TRAILING_FORMAT.exec(sql)?.[1] ?? defaultFormat;
}
