import { z } from "zod";
import type { ClickHouseClient } from "../../client.ts";
import { orgQuery } from "../../client.ts";
import { LATENCY_BUCKET_BOUNDS_US, zUuid } from "../../rows/index.ts";
import { quantileFromBuckets } from "../application-metrics-series.ts";
import { Conditions, rangeIsOrdered, timeRangeShape } from "../common.ts";
import { APP_METRICS_FILTER_COLUMNS, NET_METRICS_FILTER_COLUMNS } from "./columns.ts";
import { applyFilters, type ColumnSpec, FilterError, ipTextSql, type TFilter, ZFilters } from "./filters.ts";
import { TAG_LEVEL_NAMES, type TTagLevel, tagGroupKeys } from "./resource-tags.ts";

/**
 * RED per service or endpoint (application_metrics, or its 1m / 1h rollups for longer ranges),
 * Apdex from the latency histogram, TCP health per server from network_metrics (same tiers). Both
 * take the page filter builder's filters (NET/APP_METRICS_FILTER_COLUMNS, tags included) and group
 * by the server side's tag level or K8s label instead of ip:port: every tier keeps the resource
 * ids as keys (DDL 0010), names are read at query time (resource-tags.ts).
 */

export const RAW_UP_TO_US = 3_600_000_000;

const base = {
  orgId: zUuid,
  ...timeRangeShape,
  groupId: z.number().int().min(0).max(4_294_967_295).optional(),
  source: z.enum(["auto", "raw", "rollup"]).default("auto"),
  limit: z.number().int().min(1).max(1000).default(100),
  /** The filter builder's filters; columns from the table's allow-list only. */
  filters: ZFilters,
  /** The K8s label key rows are grouped by when `by` is "label". */
  labelKey: z.string().min(1).max(253).optional(),
};
const needsLabelKey = [
  (p: { by: string; labelKey?: string }) => p.by !== "label" || p.labelKey !== undefined,
  "grouping by label needs a labelKey",
] as const;

/** Groupings by the server side's resource: every tag level, or a K8s label (with `labelKey`). */
export const METRICS_TAG_GROUPS = [...TAG_LEVEL_NAMES, "label"] as const;
type TTagGroup = TTagLevel | "label";
const isTagGroup = (by: string): by is TTagGroup => (METRICS_TAG_GROUPS as readonly string[]).includes(by);

export const RED_GROUPS = ["service", "endpoint", ...METRICS_TAG_GROUPS] as const;
export const ZRedParams = z
  .object({
    ...base,
    by: z.enum(RED_GROUPS).default("service"),
    /** Apdex T in ms; snapped down to a histogram bound (1, 2, 5, 10, 20, 50 … ms). */
    apdexMs: z.number().positive().max(10_000).default(100),
  })
  .refine(...rangeIsOrdered)
  .refine(...needsLabelKey);
export type TRedParams = z.input<typeof ZRedParams>;

export interface TRedRow {
  /** `ip:port`, or, grouped by a tag, the server's current tag name (`untagged` without one). */
  service: string;
  l7_protocol: string;
  endpoint: string;
  requests: number;
  rate: number;
  errors: number;
  errorPct: number;
  avgUs: number;
  p95Us: number;
  p99Us: number;
  maxUs: number;
  apdex: number;
}

/** Apdex from histogram counts: satisfied ≤ T, tolerating ≤ 4T (bucket bounds). */
export function apdexFromBuckets(buckets: readonly number[], thresholdUs: number): number {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return 1;
  let sat = 0;
  let tol = 0;
  buckets.forEach((c, i) => {
    const bound = LATENCY_BUCKET_BOUNDS_US[i] ?? Number.POSITIVE_INFINITY;
    if (bound <= thresholdUs) sat += c;
    else if (bound <= 4 * thresholdUs) tol += c;
  });
  return (sat + tol / 2) / total;
}

export function snapApdexUs(ms: number): number {
  const us = ms * 1000;
  let best = LATENCY_BUCKET_BOUNDS_US[0] as number;
  for (const b of LATENCY_BUCKET_BOUNDS_US) if (b <= us) best = b;
  return best;
}

const num = (v: unknown) => Number(v ?? 0);

/** Above this range the hourly rollups answer (a day is 24 rows per key instead of 1 440). */
export const HOURLY_AFTER_US = 6 * 3_600_000_000;

type Tier = "raw" | "1m" | "1h";

/**
 * Raw up to RAW_UP_TO_US, per-minute rollup up to HOURLY_AFTER_US, hourly above ("rollup" forces
 * a rollup of the range's size). Rollups count from the start of the minute/hour holding `from`.
 */
function chooseTier(source: "auto" | "raw" | "rollup", from: number, to: number): Tier {
  if (source === "raw" || (source === "auto" && to - from <= RAW_UP_TO_US)) return "raw";
  return to - from > HOURLY_AFTER_US ? "1h" : "1m";
}

function tierSql(tier: Tier, table: string): { table: string; from: string } {
  if (tier === "raw") return { table, from: "fromUnixTimestamp64Micro({from:Int64}, 'UTC')" };
  const start = tier === "1h" ? "toStartOfHour" : "toStartOfMinute";
  return { table: `${table}_${tier}`, from: `${start}(fromUnixTimestamp64Micro({from:Int64}, 'UTC'))` };
}

/** Conditions every metrics query starts from: the org, the tier's range, the group, the filters. */
function metricsConditions(
  p: { from: number; to: number; groupId?: number; filters: TFilter[] },
  from: string,
  allow: Readonly<Record<string, ColumnSpec>>,
): Conditions {
  const c = new Conditions()
    .add("m.org_id = {org_id:UUID}")
    .add(`m.time >= ${from}`, { from: p.from })
    .add("m.time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')", { to: p.to });
  if (p.groupId !== undefined) c.add("m.group_id = {group_id:UInt32}", { group_id: p.groupId });
  return applyFilters(c, allow, p.filters);
}

/**
 * Grouped by a tag: the rows are grouped by the raw server id first (`k1`, plus `extra` keys),
 * then named once per group (two joins on the grouped ids) and merged by name, since several
 * resources may share one. `inner` aggregates the table, `outer` merges them again by name.
 */
function byTagSql(
  by: TTagGroup,
  table: string,
  where: string,
  extra: string[],
  inner: string,
  outer: string,
  order: string,
): string {
  const k = tagGroupKeys(by, "s", "g.k1");
  const extraKeys = extra.map((e, i) => `${e} AS x${i}`);
  const keys = ["k1", ...extra.map((_, i) => `x${i}`)].join(", ");
  return `SELECT name, ${extra.map((_, i) => `x${i}`).join(", ")}${extra.length ? ", " : ""}${outer}
    FROM (SELECT ${k.text} AS name, g.* FROM (
      SELECT m.server_resource_id AS k1${extraKeys.length ? `, ${extraKeys.join(", ")}` : ""}, ${inner}
      FROM ${table} AS m WHERE ${where} GROUP BY ${keys}) AS g ${k.joins})
    GROUP BY name${extra.map((_, i) => `, x${i}`).join("")} ORDER BY ${order} DESC LIMIT {limit:UInt32}`;
}

export async function redMetrics(
  client: ClickHouseClient,
  input: TRedParams,
): Promise<{ rows: TRedRow[]; source: "raw" | "rollup"; tier: Tier; apdexThresholdUs: number }> {
  const p = ZRedParams.parse(input);
  const tier = chooseTier(p.source, p.from, p.to);
  const source = tier === "raw" ? "raw" : "rollup";
  const { table, from } = tierSql(tier, "application_metrics");
  const c = metricsConditions(p, from, APP_METRICS_FILTER_COLUMNS);
  const buckets =
    source === "rollup" ? "sumForEachMerge(m.latency_buckets)" : "sumForEach(m.latency_buckets)";
  const aggregates = `sum(m.requests) AS requests,
    sum(m.errors_client) + sum(m.errors_server) + sum(m.timeouts) AS errors,
    sum(m.duration_sum_us) AS dur_sum, max(m.duration_max_us) AS max_us, ${buckets} AS buckets`;
  let sql: string;
  if (isTagGroup(p.by)) {
    sql = `SELECT name AS service, x0 AS proto, '' AS ep, requests, errors, dur_sum, max_us, buckets FROM (
      ${byTagSql(
        p.by,
        table,
        c.where(),
        ["m.l7_protocol"],
        aggregates,
        `sum(requests) AS requests, sum(errors) AS errors, sum(dur_sum) AS dur_sum, max(max_us) AS max_us,
         sumForEach(buckets) AS buckets`,
        "requests",
      )}) ORDER BY requests DESC`;
  } else {
    const endpoint = p.by === "endpoint" ? "m.endpoint" : "''";
    sql = `SELECT concat(${ipTextSql("si")}, ':', toString(sp)) AS service, proto, ep, requests, errors, dur_sum, max_us, buckets
     FROM (
       SELECT m.server_ip AS si, m.server_port AS sp, m.l7_protocol AS proto, ${endpoint} AS ep, ${aggregates}
       FROM ${table} AS m WHERE ${c.where()}
       GROUP BY si, sp, proto, ep ORDER BY requests DESC LIMIT {limit:UInt32})
     ORDER BY requests DESC`;
  }
  const raw = await orgQuery(client, p.orgId, sql, {
    ...c.params,
    limit: p.limit,
    ...(p.by === "label" ? { label_key: p.labelKey } : {}),
  });
  const seconds = (p.to - p.from) / 1e6;
  const t = snapApdexUs(p.apdexMs);
  const rows = raw.map((r) => {
    const b = (r.buckets as unknown[]).map(num);
    const requests = num(r.requests);
    const errors = num(r.errors);
    const maxUs = num(r.max_us);
    return {
      service: String(r.service),
      l7_protocol: String(r.proto),
      endpoint: String(r.ep),
      requests,
      rate: seconds > 0 ? requests / seconds : 0,
      errors,
      errorPct: requests ? (100 * errors) / requests : 0,
      avgUs: requests ? num(r.dur_sum) / requests : 0,
      p95Us: quantileFromBuckets(b, 0.95, maxUs),
      p99Us: quantileFromBuckets(b, 0.99, maxUs),
      maxUs,
      apdex: apdexFromBuckets(b, t),
    };
  });
  return { rows, source, tier, apdexThresholdUs: t };
}

export const TCP_GROUPS = ["service", ...METRICS_TAG_GROUPS] as const;
export const ZTcpParams = z
  .object({ ...base, by: z.enum(TCP_GROUPS).default("service") })
  .refine(...rangeIsOrdered)
  .refine(...needsLabelKey);
export type TTcpParams = z.input<typeof ZTcpParams>;
export interface TTcpRow {
  /** `ip:port`, or, grouped by a tag, the server's current tag name (`untagged` without one). */
  service: string;
  bytes: number;
  flows: number;
  rttAvgUs: number;
  retrans: number;
  zeroWin: number;
  resets: number;
  timeouts: number;
}

/** TCP health per server (ip:port), from network_metrics or its 1m / 1h rollups. */
export async function tcpMetrics(
  client: ClickHouseClient,
  input: TTcpParams,
): Promise<{ rows: TTcpRow[]; source: "raw" | "rollup"; tier: Tier }> {
  const p = ZTcpParams.parse(input);
  const tier = chooseTier(p.source, p.from, p.to);
  const source = tier === "raw" ? "raw" : "rollup";
  const { table, from } = tierSql(tier, "network_metrics");
  const c = metricsConditions(p, from, NET_METRICS_FILTER_COLUMNS);
  const aggregates = `sum(m.bytes_c2s) + sum(m.bytes_s2c) AS bytes, sum(m.new_flows) AS flows,
    sum(m.rtt_sum_us) AS rtt_sum, sum(m.rtt_count) AS rtt_n,
    sum(m.retrans_c2s) + sum(m.retrans_s2c) AS retrans, sum(m.zero_win_c2s) + sum(m.zero_win_s2c) AS zero_win,
    sum(m.client_rst) + sum(m.server_rst) AS resets, sum(m.timeouts) AS timeouts`;
  const sql = isTagGroup(p.by)
    ? `SELECT name AS service, bytes, flows, rtt_sum, rtt_n, retrans, zero_win, resets, timeouts FROM (
        ${byTagSql(
          p.by,
          table,
          c.where(),
          [],
          aggregates,
          `sum(bytes) AS bytes, sum(flows) AS flows, sum(rtt_sum) AS rtt_sum, sum(rtt_n) AS rtt_n,
           sum(retrans) AS retrans, sum(zero_win) AS zero_win, sum(resets) AS resets, sum(timeouts) AS timeouts`,
          "bytes",
        )}) ORDER BY bytes DESC`
    : `SELECT concat(${ipTextSql("si")}, ':', toString(sp)) AS service, bytes, flows, rtt_sum, rtt_n, retrans, zero_win, resets, timeouts
     FROM (
       SELECT m.server_ip AS si, m.server_port AS sp, ${aggregates}
       FROM ${table} AS m WHERE ${c.where()}
       GROUP BY si, sp ORDER BY bytes DESC LIMIT {limit:UInt32})
     ORDER BY bytes DESC`;
  const raw = await orgQuery(client, p.orgId, sql, {
    ...c.params,
    limit: p.limit,
    ...(p.by === "label" ? { label_key: p.labelKey } : {}),
  });
  return {
    source,
    tier,
    rows: raw.map((r) => ({
      service: String(r.service),
      bytes: num(r.bytes),
      flows: num(r.flows),
      rttAvgUs: num(r.rtt_n) ? num(r.rtt_sum) / num(r.rtt_n) : 0,
      retrans: num(r.retrans),
      zeroWin: num(r.zero_win),
      resets: num(r.resets),
      timeouts: num(r.timeouts),
    })),
  };
}

/**
 * One filter list for the whole metrics page: each filter goes to the tables whose allow-list has
 * its column (client-side columns to TCP only, endpoint and L7 protocol to RED only, the rest to
 * both); a column neither has is refused. `redSkips` / `tcpSkips` name what each side left out.
 */
export function splitMetricsFilters(filters: readonly TFilter[]): {
  red: TFilter[];
  tcp: TFilter[];
  redSkips: string[];
  tcpSkips: string[];
} {
  const out = {
    red: [] as TFilter[],
    tcp: [] as TFilter[],
    redSkips: [] as string[],
    tcpSkips: [] as string[],
  };
  for (const f of filters) {
    const app = Object.hasOwn(APP_METRICS_FILTER_COLUMNS, f.column);
    const net = Object.hasOwn(NET_METRICS_FILTER_COLUMNS, f.column);
    if (!app && !net) throw new FilterError(`column '${f.column.slice(0, 64)}' cannot be filtered`);
    if (app) out.red.push(f);
    else out.redSkips.push(f.column);
    if (net) out.tcp.push(f);
    else out.tcpSkips.push(f.column);
  }
  return out;
}
