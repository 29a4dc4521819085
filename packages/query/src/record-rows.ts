import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { ClickHouseClient, ClickHouseSettings } from "@clickhouse/client";
import { OrgScopeError } from "./org-scope.ts";
import { type Column, ROW_TABLES, type RowTable, type TRowTableName, zUuid } from "./rows/index.ts";

export interface RecordResult {
  inserted: number;
  rejected: { index: number; error: string }[];
}

export interface RecordOptions {
  /** Fills `agent_id` of rows that name none. */
  agentId?: string;
  /**
   * ClickHouse `insert_deduplication_token`: an insert retried with the same token (after a crash
   * left its outcome unknown) is dropped by the server if the first one landed. Needs
   * `non_replicated_deduplication_window` on the table (ddl 0008). Derive it from the batch id.
   */
  dedupToken?: string;
}

/** A row → its TSV line, or undefined when a value is not in normal form (then zod decides). */
type TLine = (r: Record<string, unknown>, orgId: string, agentId: string | undefined) => string | undefined;
type TEncoder = { names: string[]; line: TLine };
const encoders = new Map<RowTable, TEncoder>();
const IDENT = /^[a-z_][a-z0-9_]*$/;

function encoderOf(def: RowTable): TEncoder {
  let e = encoders.get(def);
  if (!e) {
    const columns = Object.entries(def.columns);
    e = { names: columns.map(([n]) => n), line: compileLine(columns) };
    encoders.set(def, e);
  }
  return e;
}

/**
 * The fast path, generated once per table: `r.flow_id`, `r.start_time`, ... read by name and each
 * column's encoder called from a call site of its own. A loop over the columns (`r[name]`,
 * `columns[i].tsv(v)`) makes every access and call megamorphic and costs far more on these
 * 40-column rows. Only column names (checked identifiers) reach the source text.
 */
function compileLine(columns: [string, Column][]): TLine {
  const fns: Column["tsv"][] = [];
  const steps = columns.map(([name, c], i) => {
    if (!IDENT.test(name)) throw new Error(`column name '${name}' is not a plain identifier`);
    const append = (x: string) => (i === 0 ? `line = ${x};` : `line += "\\t" + ${x};`);
    if (name === "org_id") return append("orgId");
    fns.push(c.tsv);
    const value = name === "agent_id" ? "r.agent_id === undefined ? agentId : r.agent_id" : `r.${name}`;
    return `f = e${fns.length - 1}(${value}); if (f === undefined) return undefined; ${append("f")}`;
  });
  const body = `return function line(r, orgId, agentId) { let f; let line; ${steps.join(" ")} return line; };`;
  return new Function(...fns.map((_, k) => `e${k}`), body)(...fns) as TLine;
}

/** Settings of every row insert. An empty TSV field (an omitted optional) is the DDL default. */
const INSERT_SETTINGS: ClickHouseSettings = {
  input_format_tsv_empty_as_default: 1,
  // A retried block dropped by its token is still pushed to the rollups' views; their targets drop
  // it only with this on (a server's default before 26.x is off).
  deduplicate_blocks_in_dependent_materialized_views: 1,
};

/** The engine's default min_chunk_bytes_for_parallel_parsing: one segment below it. */
const PARALLEL_PARSING_MIN_BYTES = 10 << 20;

/** Rows validated and encoded for one insert: `payload` is TabSeparated, one line per row. */
export interface EncodedRows {
  table: TRowTableName;
  payload: Buffer;
  rows: number;
  rejected: RecordResult["rejected"];
}

/**
 * Validates each row against its table's schema and encodes the valid ones for `orgId`. A row
 * naming another org is refused; a row naming none is written for `orgId`. Bad rows are reported
 * by index (with zod's reason), good rows kept.
 *
 * Rows go to ClickHouse as TabSeparated, the engine's cheapest text input (a third of
 * JSONEachRow's bytes and several times faster to parse). Each column checks and encodes its value
 * directly (`Column.tsv`); only a row with a value not already in normal form (a number as a
 * string, an upper-case UUID, a v4-mapped address, an invalid value) goes through zod.
 */
export function encodeRows(
  table: TRowTableName,
  orgId: string,
  rows: readonly unknown[],
  opts: Pick<RecordOptions, "agentId"> = {},
): EncodedRows {
  const def = ROW_TABLES[table] as RowTable | undefined;
  if (!def) throw new Error(`unknown telemetry table '${table}'`);
  const org = zUuid.safeParse(orgId);
  if (!org.success) throw new OrgScopeError("recordRows needs the org id (a UUID) of the rows' organization");
  const { line: fastLine } = encoderOf(def);
  const lines: string[] = [];
  const rejected: RecordResult["rejected"] = [];
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index];
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      rejected.push({ index, error: "row: expected an object" });
      continue;
    }
    const r = row as Record<string, unknown>;
    if (r.org_id !== undefined && r.org_id !== null && String(r.org_id).toLowerCase() !== org.data) {
      rejected.push({ index, error: "org_id: the row belongs to another organization" });
      continue;
    }
    const line = fastLine(r, org.data, opts.agentId) ?? slowLine(def, fastLine, r, org.data, opts.agentId);
    if (typeof line === "string") lines.push(line);
    else rejected.push({ index, error: line.error });
  }
  const count = lines.length;
  if (count > 0) lines.push(""); // the last row's newline
  return { table, payload: Buffer.from(lines.join("\n")), rows: count, rejected };
}

/**
 * One insert of encoded rows (of one table; several batches' payloads may be concatenated). The
 * telemetry tables keep a deduplication window (ddl 0008), so without a token of its own an insert
 * would be deduplicated by its data: identical rows sent twice must stay two rows.
 */
export async function insertEncoded(
  client: ClickHouseClient,
  table: TRowTableName,
  payload: Buffer | readonly Buffer[],
  dedupToken: string = randomUUID(),
): Promise<void> {
  const def = ROW_TABLES[table] as RowTable | undefined;
  if (!def) throw new Error(`unknown telemetry table '${table}'`);
  const chunks = Buffer.isBuffer(payload) ? [payload] : payload;
  let bytes = 0;
  for (const c of chunks) bytes += c.length;
  await client.insert({
    table,
    columns: encoderOf(def).names as [string, ...string[]],
    format: "TabSeparated",
    values: Readable.from(chunks, { objectMode: false }),
    clickhouse_settings: {
      ...INSERT_SETTINGS,
      insert_deduplication_token: dedupToken,
      // Parallel parsing cuts the input into segments of min_chunk_bytes_for_parallel_parsing
      // (10 MiB): a smaller payload is one segment anyway, and its thread pool only costs (chDB,
      // 10 000-row L4 inserts: 0.87-1.15 CPU s per 100 k rows without it, 1.18-1.32 with it).
      ...(bytes < PARALLEL_PARSING_MIN_BYTES ? { input_format_parallel_parsing: 0 } : {}),
    },
  });
}

/** Validates, encodes and writes rows of one org in one insert (see `encodeRows`). */
export async function recordRows(
  client: ClickHouseClient,
  table: TRowTableName,
  orgId: string,
  rows: readonly unknown[],
  opts: RecordOptions = {},
): Promise<RecordResult> {
  const encoded = encodeRows(table, orgId, rows, opts);
  if (encoded.rows > 0) await insertEncoded(client, table, encoded.payload, opts.dedupToken);
  return { inserted: encoded.rows, rejected: encoded.rejected };
}

/** Through zod: the reason a row is invalid, or its normalised values as a TSV line. */
function slowLine(
  def: RowTable,
  fastLine: TLine,
  r: Record<string, unknown>,
  orgId: string,
  agentId: string | undefined,
): string | { error: string } {
  const candidate: Record<string, unknown> = { ...r, org_id: orgId };
  if (candidate.agent_id === undefined && agentId !== undefined) candidate.agent_id = agentId;
  const parsed = def.schema.safeParse(candidate);
  if (!parsed.success) {
    return {
      error: parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join(".") || "row"}: ${i.message}`)
        .join("; "),
    };
  }
  const line = fastLine(parsed.data as Record<string, unknown>, orgId, undefined);
  // A schema output the column's encoder refuses is a bug in rows/columns.ts: say so, keep the rest.
  return line ?? { error: "row: valid, but its normalised form has no TSV encoding (a bug: report it)" };
}
