import { z } from "zod";
import type { ClickHouseClient } from "../../client.ts";
import { orgQuery } from "../../client.ts";
import {
  decodeRow,
  L4FlowLog,
  L7FlowLog,
  selectWireColumns,
  type TL4FlowLogRow,
  type TL7FlowLogRow,
  zUuid,
} from "../../rows/index.ts";
import { Conditions, rangeIsOrdered, timeRangeShape } from "../common.ts";
import { L4_FILTER_COLUMNS, L4_SORT_COLUMNS, L7_FILTER_COLUMNS, L7_SORT_COLUMNS } from "./columns.ts";
import { applyFilters, type ColumnSpec, FilterError, ZFilters } from "./filters.ts";

/** Page cursor: the last row's sort value and tie-breakers. */
function encodePageCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString("base64url");
}
function decodePageCursor(cursor: string): [number, string, number] {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      typeof v[0] === "number" &&
      Number.isFinite(v[0]) &&
      typeof v[1] === "string" &&
      /^\d{1,20}$/.test(v[1]) &&
      typeof v[2] === "number" &&
      Number.isInteger(v[2])
    ) {
      return v as [number, string, number];
    }
  } catch {}
  throw new FilterError("invalid cursor");
}

const HOUR_US = 3_600_000_000;

/**
 * Time windows to read a time-sorted page in: the newest hour, then the next five, then the rest
 * (oldest first for ascending order). A page sorted by time usually fills from the first window,
 * so a 24 h range costs about what a 1 h one does instead of a top-N over the whole day.
 */
export function timeSteps(from: number, to: number, dir: "asc" | "desc"): [number, number][] {
  const out: [number, number][] = [];
  if (to <= from) return out;
  if (dir === "desc") {
    const a = Math.max(from, to - HOUR_US);
    const b = Math.max(from, to - 6 * HOUR_US);
    out.push([a, to]);
    if (b < a) out.push([b, a]);
    if (from < b) out.push([from, b]);
  } else {
    const a = Math.min(to, from + HOUR_US);
    const b = Math.min(to, from + 6 * HOUR_US);
    out.push([from, a]);
    if (b > a) out.push([a, b]);
    if (b < to) out.push([b, to]);
  }
  return out;
}

/** Runs `query` over the windows of a time sort (or once over the range) until `limit` rows. */
async function readPage(
  timeSorted: boolean,
  p: { from: number; to: number; dir: "asc" | "desc"; limit: number },
  cursorTime: number | undefined,
  query: (from: number, to: number, limit: number) => Promise<Record<string, unknown>[]>,
): Promise<Record<string, unknown>[]> {
  if (!timeSorted) return query(p.from, p.to, p.limit);
  let from = p.from;
  let to = p.to;
  if (cursorTime !== undefined) {
    if (p.dir === "desc") to = Math.min(to, Math.floor(cursorTime) + 1);
    else from = Math.max(from, Math.floor(cursorTime));
  }
  const out: Record<string, unknown>[] = [];
  for (const [lo, hi] of timeSteps(from, to, p.dir)) {
    out.push(...(await query(lo, hi, p.limit - out.length)));
    if (out.length >= p.limit) break;
  }
  return out;
}

const pageShape = {
  orgId: zUuid,
  ...timeRangeShape,
  filters: ZFilters,
  limit: z.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(200).optional(),
  dir: z.enum(["asc", "desc"]).default("desc"),
};

export const ZFlowLogPageParams = z
  .object({
    ...pageShape,
    sort: z.enum(Object.keys(L4_SORT_COLUMNS) as [keyof typeof L4_SORT_COLUMNS]).default("end_time"),
  })
  .refine(...rangeIsOrdered);
export type TFlowLogPageParams = z.input<typeof ZFlowLogPageParams>;

export const ZL7LogPageParams = z
  .object({
    ...pageShape,
    sort: z.enum(Object.keys(L7_SORT_COLUMNS) as [keyof typeof L7_SORT_COLUMNS]).default("start_time"),
  })
  .refine(...rangeIsOrdered);
export type TL7LogPageParams = z.input<typeof ZL7LogPageParams>;

export interface Page<R> {
  rows: R[];
  nextCursor: string | undefined;
}

/** What differs between the flow-report and L7-request pages: the table, its time and tie-breaker. */
interface LogTable<R> {
  table: string;
  /** Alias the filter allow-list's SQL is written against. */
  alias: string;
  /** Column the range bounds, and the sort whose pages are read window by window. */
  time: string;
  /** Second tie-breaker after flow_id. */
  seq: string;
  filterColumns: Readonly<Record<string, ColumnSpec>>;
  select: string;
  decode: (raw: Record<string, unknown>) => R;
  /** The last row's (flow_id, seq) for the next cursor. */
  tieBreakers: (row: R) => [string, number];
}

const L4_LOG: LogTable<TL4FlowLogRow> = {
  table: "l4_flow_log",
  alias: "f",
  time: "end_time",
  seq: "report_seq",
  filterColumns: L4_FILTER_COLUMNS,
  select: selectWireColumns(L4FlowLog, "f."),
  decode: (r) => decodeRow(L4FlowLog, r),
  tieBreakers: (r) => [r.flow_id, r.report_seq ?? 0],
};

const L7_LOG: LogTable<TL7FlowLogRow> = {
  table: "l7_flow_log",
  alias: "l",
  time: "start_time",
  seq: "req_tcp_seq",
  filterColumns: L7_FILTER_COLUMNS,
  select: selectWireColumns(L7FlowLog, "l."),
  decode: (r) => decodeRow(L7FlowLog, r),
  tieBreakers: (r) => [r.flow_id, r.req_tcp_seq],
};

type PageInput = Omit<z.output<typeof ZFlowLogPageParams>, "sort">;

/** Org, time range and allow-listed filters: the WHERE shared by a page and its count. */
function rangeConditions<R>(t: LogTable<R>, p: PageInput): Conditions {
  const a = t.alias;
  const c = new Conditions()
    .add(`${a}.org_id = {org_id:UUID}`)
    .add(`${a}.${t.time} >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')`, { from: p.from })
    .add(`${a}.${t.time} < fromUnixTimestamp64Micro({to:Int64}, 'UTC')`, { to: p.to });
  applyFilters(c, t.filterColumns, p.filters);
  return c;
}

/**
 * One page sorted by the SQL expression `key` (the `sort` named by `sortName`), with
 * (flow_id, seq) as tie-breakers and a keyset cursor on those three values.
 */
async function logPage<R>(
  client: ClickHouseClient,
  t: LogTable<R>,
  p: PageInput,
  sortName: string,
  key: string,
): Promise<Page<R>> {
  const a = t.alias;
  const c = rangeConditions(t, p);
  const cmp = p.dir === "desc" ? "<" : ">";
  let cursorTime: number | undefined;
  if (p.cursor) {
    const [v, id, seq] = decodePageCursor(p.cursor);
    cursorTime = v;
    c.add(`(${key}, ${a}.flow_id, ${a}.${t.seq}) ${cmp} ({c_v:Float64}, {c_id:UInt64}, {c_seq:UInt32})`, {
      c_v: v,
      c_id: id,
      c_seq: seq,
    });
  }
  const d = p.dir.toUpperCase();
  const sql = `
    SELECT ${t.select}, ${key} AS _k
    FROM ${t.table} AS ${a}
    WHERE ${c.where()}
    ORDER BY _k ${d}, ${a}.flow_id ${d}, ${a}.${t.seq} ${d}
    LIMIT {limit:UInt32}`;
  const raw = await readPage(sortName === t.time, p, cursorTime, (from, to, limit) =>
    orgQuery<Record<string, unknown>>(client, p.orgId, sql, { ...c.params, from, to, limit }),
  );
  const rows = raw.map(t.decode);
  const lastRaw = raw.at(-1);
  const last = rows.at(-1);
  return {
    rows,
    nextCursor:
      rows.length === p.limit && last && lastRaw
        ? encodePageCursor([Number(lastRaw._k), ...t.tieBreakers(last)])
        : undefined,
  };
}

async function logCount<R>(client: ClickHouseClient, t: LogTable<R>, p: PageInput): Promise<number> {
  const c = rangeConditions(t, p);
  const [r] = await orgQuery<{ n: string | number }>(
    client,
    p.orgId,
    `SELECT count() AS n FROM ${t.table} AS ${t.alias} WHERE ${c.where()}`,
    c.params,
  );
  return Number(r?.n ?? 0);
}

/**
 * One page of L4 flow reports: allow-listed filters (bound), a sort over one numeric key with
 * (flow_id, report_seq) as tie-breakers, and a keyset cursor on those three values.
 */
export async function flowLogPage(
  client: ClickHouseClient,
  input: TFlowLogPageParams,
): Promise<Page<TL4FlowLogRow>> {
  const p = ZFlowLogPageParams.parse(input);
  return logPage(client, L4_LOG, p, p.sort, L4_SORT_COLUMNS[p.sort]);
}

/** One page of L7 request logs (same contract as flowLogPage, by start time). */
export async function l7LogPage(
  client: ClickHouseClient,
  input: TL7LogPageParams,
): Promise<Page<TL7FlowLogRow>> {
  const p = ZL7LogPageParams.parse(input);
  return logPage(client, L7_LOG, p, p.sort, L7_SORT_COLUMNS[p.sort]);
}

/** Exact count of rows matching a page's filters (shown beside the table). */
export async function flowLogCount(client: ClickHouseClient, input: TFlowLogPageParams): Promise<number> {
  return logCount(client, L4_LOG, ZFlowLogPageParams.parse(input));
}

export async function l7LogCount(client: ClickHouseClient, input: TL7LogPageParams): Promise<number> {
  return logCount(client, L7_LOG, ZL7LogPageParams.parse(input));
}

export const ZFlowDetailParams = z.object({
  orgId: zUuid,
  flowId: z.string().regex(/^\d{1,20}$/),
  /**
   * The agent that reported the flow: flow ids are unique per agent only (engine start second +
   * counter), so two agents started in the same second share them.
   */
  agentId: zUuid,
  /** Around when to look for the flow's L7 rows (µs); ±1 day. */
  at: z.number().int().positive(),
});

/** A flow's reports and the L7 requests carried on it (linked by agent_id + flow_id). */
export async function flowDetail(
  client: ClickHouseClient,
  input: z.input<typeof ZFlowDetailParams>,
): Promise<{ reports: TL4FlowLogRow[]; l7: TL7FlowLogRow[] }> {
  const p = ZFlowDetailParams.parse(input);
  const day = 86_400_000_000;
  const params = { flow_id: p.flowId, agent_id: p.agentId, from: Math.max(0, p.at - day), to: p.at + day };
  const [reports, l7] = await Promise.all([
    orgQuery<Record<string, unknown>>(
      client,
      p.orgId,
      `SELECT ${selectWireColumns(L4FlowLog, "f.")} FROM l4_flow_log AS f
       WHERE f.org_id = {org_id:UUID} AND f.agent_id = {agent_id:UUID} AND f.flow_id = {flow_id:UInt64}
         AND f.end_time >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')
         AND f.end_time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')
       ORDER BY f.end_time, f.report_seq LIMIT 1000`,
      params,
    ),
    orgQuery<Record<string, unknown>>(
      client,
      p.orgId,
      `SELECT ${selectWireColumns(L7FlowLog, "l.")} FROM l7_flow_log AS l
       WHERE l.org_id = {org_id:UUID} AND l.agent_id = {agent_id:UUID} AND l.flow_id = {flow_id:UInt64}
         AND l.start_time >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')
         AND l.start_time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')
       ORDER BY l.start_time LIMIT 1000`,
      params,
    ),
  ]);
  return { reports: reports.map((r) => decodeRow(L4FlowLog, r)), l7: l7.map((r) => decodeRow(L7FlowLog, r)) };
}

const CSV_COLUMNS = [
  "start_time",
  "end_time",
  "client_ip",
  "client_port",
  "server_ip",
  "server_port",
  "ip_protocol",
  "l7_protocol",
  "close_type",
  "bytes_c2s",
  "bytes_s2c",
  "packets_c2s",
  "packets_s2c",
  "rtt_us",
  "retrans_c2s",
  "retrans_s2c",
  "agent_id",
  "flow_id",
] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  // A leading =,+,-,@ would be a formula in a spreadsheet.
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** CSV of every flow report matching the filter, page by page (at most `maxRows`). */
export async function* flowLogCsv(
  client: ClickHouseClient,
  input: TFlowLogPageParams,
  maxRows = 1_000_000,
): AsyncGenerator<string> {
  let cursor: string | undefined;
  let sent = 0;
  let header = `${CSV_COLUMNS.join(",")}\n`;
  do {
    // The first page is read before anything is yielded, so a bad filter fails the first next().
    const page = await flowLogPage(client, { ...input, cursor, limit: 1000 });
    const lines = page.rows.map(
      (r) =>
        `${CSV_COLUMNS.map((k) =>
          csvCell(k.endsWith("_time") ? new Date(Math.floor((r[k] as number) / 1000)).toISOString() : r[k]),
        ).join(",")}\n`,
    );
    yield header + lines.join("");
    header = "";
    sent += page.rows.length;
    cursor = page.nextCursor;
  } while (cursor && sent < maxRows);
}
