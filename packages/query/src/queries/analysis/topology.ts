import { z } from "zod";
import type { ClickHouseClient } from "../../client.ts";
import { orgQuery } from "../../client.ts";
import { LATENCY_BUCKET_BOUNDS_US, LATENCY_BUCKETS, zUuid } from "../../rows/index.ts";
import { quantileFromBuckets as quantileUs } from "../application-metrics-series.ts";
import { Conditions, rangeIsOrdered, timeRangeShape } from "../common.ts";
import { L4_FILTER_COLUMNS, L7_FILTER_COLUMNS } from "./columns.ts";
import { applyFilters, type ColumnSpec, FilterError, ipTextSql, ZFilters } from "./filters.ts";
import { TAG_LEVEL_NAMES, type TTagLevel, tagGroupKeys } from "./resource-tags.ts";

/**
 * Service map edges: client node → server node, grouped by a chosen dimension. Request rate,
 * error % and p95 latency come from L7 rows; bytes, retransmissions and flows from L4 flows.
 * Ranges longer than ROLLUP_AFTER_US read the hourly edge rollups (l7_edge_lat_1h, l4_edge_1h: the
 * same rows summed per hour and edge, no client ports) over whole hours: the answer is the raw
 * one for the hour-aligned range it reports. p95 is the upper bound of the latency bucket holding
 * it on both paths, so raw and rollup agree exactly.
 */

/** Dimensions before the tag levels; "resource" is the most specific tag (its current name). */
const BASE_GROUPS = ["ip", "service", "port", "agent", "l7_protocol", "group"] as const;
export const TOPOLOGY_GROUPS = [...BASE_GROUPS, ...TAG_LEVEL_NAMES, "label"] as [
  (typeof BASE_GROUPS)[number] | TTagLevel | "label",
  ...((typeof BASE_GROUPS)[number] | TTagLevel | "label")[],
];
export type TTopologyGroup = (typeof TOPOLOGY_GROUPS)[number];
export const ROLLUP_AFTER_US = 6 * 3_600_000_000;
const HOUR_US = 3_600_000_000;

/** Filter columns the edge rollups keep (and every tag, resolved through the resource ids). */
const ROLLUP_FILTER_COLUMNS = new Set([
  "client_ip",
  "server_ip",
  "server_port",
  "ip_protocol",
  "l7_protocol",
  "agent_id",
  "group_id",
  "client_resource_id",
  "server_resource_id",
]);
const rollupFilterable = (spec: ColumnSpec | undefined, column: string) =>
  spec !== undefined && (spec.tag !== undefined || ROLLUP_FILTER_COLUMNS.has(column));

export const ZTopologyParams = z
  .object({
    orgId: zUuid,
    ...timeRangeShape,
    groupBy: z.enum(TOPOLOGY_GROUPS).default("service"),
    /** The K8s label key nodes are grouped by when `groupBy` is "label". */
    labelKey: z.string().min(1).max(253).optional(),
    filters: ZFilters,
    source: z.enum(["auto", "raw", "rollup"]).default("auto"),
    limit: z.number().int().min(1).max(2000).default(500),
  })
  .refine(...rangeIsOrdered)
  .refine((p) => p.groupBy !== "label" || p.labelKey !== undefined, "grouping by label needs a labelKey");
export type TTopologyParams = z.input<typeof ZTopologyParams>;

export const ZTopologyEdge = z.object({
  client: z.string(),
  server: z.string(),
  requests: z.number(),
  requestRate: z.number(),
  errors: z.number(),
  errorPct: z.number(),
  p95Us: z.number(),
  bytes: z.number(),
  retrans: z.number(),
  flows: z.number(),
});
export type TTopologyEdge = z.infer<typeof ZTopologyEdge>;

/**
 * Node keys: the inner query groups by raw columns (`cols`, aliased k1.. in `g`), the middle one
 * turns them into text (`c`, `s`; tag levels through `joins`). `distinct`: different keys always
 * give different texts (addresses, ports, agent and group ids), so the top edges can be chosen
 * by key and only those formatted; otherwise (tag names shared by several ids, '' and 'unknown'
 * protocols) node pairs are merged by text after formatting once per group.
 */
function keys(
  groupBy: TTopologyGroup,
  p: string,
): { cols: string[]; c: string; s: string; joins: string; distinct: boolean } {
  const svc = `concat(${ipTextSql("g.k2")}, ':', toString(g.k3))`;
  const plain = (cols: string[], c: string, s: string) => ({ cols, c, s, joins: "", distinct: true });
  switch (groupBy) {
    case "ip":
      return plain([`${p}.client_ip`, `${p}.server_ip`], ipTextSql("g.k1"), ipTextSql("g.k2"));
    case "service":
      return plain([`${p}.client_ip`, `${p}.server_ip`, `${p}.server_port`], ipTextSql("g.k1"), svc);
    case "port":
      return plain(
        [`${p}.client_ip`, `${p}.server_port`],
        ipTextSql("g.k1"),
        "concat('port ', toString(g.k2))",
      );
    case "agent":
      return plain(
        [`${p}.agent_id`, `${p}.server_ip`, `${p}.server_port`],
        "concat('agent ', toString(g.k1))",
        svc,
      );
    case "l7_protocol":
      return {
        ...plain([`${p}.client_ip`, `${p}.l7_protocol`], ipTextSql("g.k1"), "if(g.k2 = '', 'unknown', g.k2)"),
        distinct: false,
      };
    case "group":
      return plain(
        [`${p}.group_id`, `${p}.server_ip`, `${p}.server_port`],
        "concat('group ', toString(g.k1))",
        svc,
      );
    default: {
      const c = tagGroupKeys(groupBy, "c", "g.k1");
      const s = tagGroupKeys(groupBy, "s", "g.k2");
      return {
        cols: [`${p}.client_resource_id`, `${p}.server_resource_id`],
        c: c.text,
        s: s.text,
        joins: `${c.joins} ${s.joins}`,
        distinct: false,
      };
    }
  }
}

/** Latency histogram of raw rows, bucket for bucket as l7_edge_lat_1h and application_metrics keep it. */
export function latencyBucketsSql(d: string): string {
  const b = LATENCY_BUCKET_BOUNDS_US;
  const parts = b.map((hi, i) =>
    i === 0 ? `countIf(${d} <= ${hi})` : `countIf(${d} > ${b[i - 1]} AND ${d} <= ${hi})`,
  );
  parts.push(`countIf(${d} > ${b.at(-1)})`);
  return `[${parts.join(", ")}]`;
}

interface Side {
  table: string;
  alias: string;
  time: string;
  /** Aggregates of the inner query, each named as the middle/outer queries read it. */
  inner: string;
  /** The outer query merging node pairs that share a text (tag levels, protocols). */
  outer: string;
  order: string;
  allow: Readonly<Record<string, ColumnSpec>>;
}

const L7_RAW: Side = {
  table: "l7_flow_log",
  alias: "l",
  time: "start_time",
  inner: `count() AS requests, countIf(l.response_status IN ('client_error', 'server_error', 'timeout')) AS errors,
    ${latencyBucketsSql("l.response_duration_us")} AS buckets, max(l.response_duration_us) AS max_us`,
  outer:
    "sum(requests) AS requests, sum(errors) AS errors, sumForEach(buckets) AS buckets, max(max_us) AS max_us",
  order: "requests",
  allow: L7_FILTER_COLUMNS,
};
/** The rollup's histogram columns lat_b0..lat_b13 (DDL 0009), summed as plain columns. */
const ROLLUP_BUCKETS = `[${Array.from({ length: LATENCY_BUCKETS }, (_, i) => `sum(l.lat_b${i})`).join(", ")}]`;
const L7_ROLLUP: Side = {
  ...L7_RAW,
  table: "l7_edge_lat_1h",
  time: "time",
  inner: `sum(l.requests) AS requests, sum(l.errors) AS errors, ${ROLLUP_BUCKETS} AS buckets,
    max(l.duration_max_us) AS max_us`,
};
const L4_RAW: Side = {
  table: "l4_flow_log",
  alias: "f",
  time: "end_time",
  inner: `sum(f.bytes_c2s + f.bytes_s2c) AS bytes, sum(f.retrans_c2s + f.retrans_s2c) AS retrans,
    countIf(f.report_seq = 0) AS flows`,
  outer: "sum(bytes) AS bytes, sum(retrans) AS retrans, sum(flows) AS flows",
  order: "bytes",
  allow: L4_FILTER_COLUMNS,
};
const L4_ROLLUP: Side = {
  ...L4_RAW,
  table: "l4_edge_1h",
  time: "time",
  inner: "sum(f.bytes) AS bytes, sum(f.retrans) AS retrans, sum(f.flows) AS flows",
};

const n = (v: unknown) => Number(v ?? 0);

export async function topologyEdges(
  client: ClickHouseClient,
  input: TTopologyParams,
): Promise<{ edges: TTopologyEdge[]; source: "raw" | "rollup"; from: number; to: number }> {
  const p = ZTopologyParams.parse(input);
  for (const f of p.filters) {
    if (!Object.hasOwn(L4_FILTER_COLUMNS, f.column) && !Object.hasOwn(L7_FILTER_COLUMNS, f.column))
      throw new FilterError(`column '${f.column.slice(0, 64)}' cannot be filtered`);
  }
  const rollupable = p.filters.every((f) =>
    rollupFilterable(L4_FILTER_COLUMNS[f.column] ?? L7_FILTER_COLUMNS[f.column], f.column),
  );
  if (p.source === "rollup" && !rollupable)
    throw new FilterError(
      "the hourly rollups keep addresses, ports, protocols, agents, groups and tags only",
    );
  const useRollup =
    p.source === "rollup" || (p.source === "auto" && rollupable && p.to - p.from > ROLLUP_AFTER_US);
  // Rollups answer for whole hours: the range widens to them (and says so).
  const from = useRollup ? Math.floor(p.from / HOUR_US) * HOUR_US : p.from;
  const to = useRollup ? Math.ceil(p.to / HOUR_US) * HOUR_US : p.to;
  const params: Record<string, unknown> = { from, to, limit: p.limit };
  if (p.groupBy === "label") params.label_key = p.labelKey;

  const side = (s: Side) => {
    const k = keys(p.groupBy, s.alias);
    const c = new Conditions()
      .add(`${s.alias}.org_id = {org_id:UUID}`)
      .add(`${s.alias}.${s.time} >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')`)
      .add(`${s.alias}.${s.time} < fromUnixTimestamp64Micro({to:Int64}, 'UTC')`);
    // Each side takes the filters on its own columns (endpoint filters the calls, not the flows).
    applyFilters(
      c,
      s.allow,
      p.filters.filter((f) => Object.hasOwn(s.allow, f.column)),
    );
    const inner = k.cols.map((col, i) => `${col} AS k${i + 1}`).join(", ");
    const groupKeys = k.cols.map((_, i) => `k${i + 1}`).join(", ");
    const grouped = `SELECT ${inner}, ${s.inner}
      FROM ${s.table} AS ${s.alias} WHERE ${c.where()} GROUP BY ${groupKeys}`;
    // Formatting and re-grouping every edge by text cost as much as the grouping itself (24 h).
    const sql = k.distinct
      ? `SELECT ${k.c} AS c, ${k.s} AS s, g.* FROM (
           ${grouped} ORDER BY ${s.order} DESC LIMIT {limit:UInt32}) AS g`
      : `SELECT c, s, ${s.outer} FROM (
           SELECT ${k.c} AS c, ${k.s} AS s, g.* FROM (${grouped}) AS g ${k.joins})
         GROUP BY c, s ORDER BY ${s.order} DESC LIMIT {limit:UInt32}`;
    return orgQuery(client, p.orgId, sql, { ...params, ...c.params });
  };
  const [r7, r4] = await Promise.all([
    side(useRollup ? L7_ROLLUP : L7_RAW),
    side(useRollup ? L4_ROLLUP : L4_RAW),
  ]);

  const edges = new Map<string, TTopologyEdge>();
  const edge = (c: string, s: string) => {
    const key = `${c}\u0000${s}`;
    let e = edges.get(key);
    if (!e) {
      e = {
        client: c,
        server: s,
        requests: 0,
        requestRate: 0,
        errors: 0,
        errorPct: 0,
        p95Us: 0,
        bytes: 0,
        retrans: 0,
        flows: 0,
      };
      edges.set(key, e);
    }
    return e;
  };
  const seconds = (to - from) / 1e6;
  for (const r of r7) {
    const e = edge(String(r.c), String(r.s));
    e.requests = n(r.requests);
    e.errors = n(r.errors);
    const buckets = (r.buckets as unknown[]).map(n);
    e.p95Us = quantileUs(buckets.length === LATENCY_BUCKETS ? buckets : [], 0.95, n(r.max_us));
    e.requestRate = seconds > 0 ? e.requests / seconds : 0;
    e.errorPct = e.requests > 0 ? (100 * e.errors) / e.requests : 0;
  }
  for (const r of r4) {
    const e = edge(String(r.c), String(r.s));
    e.bytes = n(r.bytes);
    e.retrans = n(r.retrans);
    e.flows = n(r.flows);
  }
  const out = [...edges.values()].sort((a, b) => b.requests - a.requests || b.bytes - a.bytes);
  return { edges: out.slice(0, p.limit), source: useRollup ? "rollup" : "raw", from, to };
}
