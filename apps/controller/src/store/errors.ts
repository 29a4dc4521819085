/** ClickHouse-shaped errors: the text `@clickhouse/client` parses into `ClickHouseError`. */

export interface StoreError {
  status: number;
  code: number;
  body: string;
}

// A subset of ClickHouse's own code → HTTP status table (src/Server/HTTPHandler.cpp).
const STATUS_BY_NAME: Record<string, number> = {
  READONLY: 403,
  ACCESS_DENIED: 403,
  UNKNOWN_TABLE: 404,
  UNKNOWN_DATABASE: 404,
  UNKNOWN_FUNCTION: 404,
  UNKNOWN_IDENTIFIER: 404,
  UNKNOWN_SETTING: 404,
  UNKNOWN_QUERY_PARAMETER: 400,
  SYNTAX_ERROR: 400,
  BAD_ARGUMENTS: 400,
  TYPE_MISMATCH: 400,
  ILLEGAL_TYPE_OF_ARGUMENT: 400,
  CANNOT_PARSE_INPUT_ASSERTION_FAILED: 400,
  CANNOT_PARSE_TEXT: 400,
  CANNOT_PARSE_QUOTED_STRING: 400,
  CANNOT_PARSE_DATETIME: 400,
  CANNOT_PARSE_NUMBER: 400,
  INCORRECT_DATA: 400,
  QUERY_IS_TOO_LARGE: 413,
  NOT_IMPLEMENTED: 501,
  TOO_MANY_SIMULTANEOUS_QUERIES: 503,
};

const CODE_PREFIX = /^\s*Code:\s*(\d+)\./;
const TYPE_SUFFIX = /\(([A-Z0-9_]+)\)\s*$/;

/** Turns an engine error into ClickHouse's HTTP error; keeps the engine's own code and text. */
export function fromEngineError(err: unknown): StoreError {
  const raw = err instanceof Error ? err.message : String(err);
  // chDB sometimes prepends its own context before ClickHouse's text.
  const at = raw.indexOf("Code: ");
  const msg = at > 0 ? raw.slice(at) : raw;
  const code = CODE_PREFIX.exec(msg)?.[1];
  if (code === undefined) return storeError(500, 1001, `std::exception: ${oneLine(raw)}`, "STD_EXCEPTION");
  const name = TYPE_SUFFIX.exec(msg)?.[1] ?? "";
  const body = msg.endsWith("\n") ? msg : `${msg}\n`;
  return { status: STATUS_BY_NAME[name] ?? 500, code: Number(code), body };
}

export function storeError(status: number, code: number, text: string, name: string): StoreError {
  return { status, code, body: `Code: ${code}. DB::Exception: ${text}. (${name})\n` };
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}
