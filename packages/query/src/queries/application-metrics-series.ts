import { z } from "zod";
import type { ClickHouseClient } from "../client.ts";
import { orgQuery } from "../client.ts";
import { LATENCY_BUCKET_BOUNDS_US, zUuid } from "../rows/index.ts";
import { APP_METRICS_FILTER_COLUMNS } from "./analysis/columns.ts";
import { applyFilters, ZFilters } from "./analysis/filters.ts";
import { Conditions, rangeIsOrdered, timeRangeShape, ZIpText, ZPort } from "./common.ts";

export const ZApplicationMetricsSeriesParams = z
  .object({
    orgId: zUuid,
    ...timeRangeShape,
    /** second: from application_metrics; minute: from the application_metrics_1m rollup. */
    step: z.enum(["second", "minute"]).default("minute"),
    filters: z
      .object({
        agentId: zUuid.optional(),
        serverIp: ZIpText.optional(),
        serverPort: ZPort.optional(),
        l7Protocol: z.string().max(32).optional(),
        endpoint: z.string().max(1024).optional(),
      })
      .default({}),
    /** The analysis filter builder's filters (APP_METRICS_FILTER_COLUMNS: tags included). */
    pageFilters: ZFilters,
  })
  .refine(...rangeIsOrdered);
export type TApplicationMetricsSeriesParams = z.input<typeof ZApplicationMetricsSeriesParams>;

const num = z.preprocess((v) => (typeof v === "string" ? Number(v) : v), z.number());
const ZRaw = z.object({
  time: num,
  requests: num,
  errors_client: num,
  errors_server: num,
  timeouts: num,
  duration_sum_us: num,
  duration_max_us: num,
  buckets: z.array(num),
});

export interface TApplicationMetricsPoint {
  /** Start of the step, µs since the epoch. */
  time: number;
  requests: number;
  errors_client: number;
  errors_server: number;
  timeouts: number;
  duration_avg_us: number;
  duration_max_us: number;
  /** Estimated from the fixed histogram: the upper bound of the bucket holding the quantile. */
  p50_us: number;
  p95_us: number;
  p99_us: number;
}

/**
 * Upper bound of the bucket holding quantile `q` (the top bucket reports the observed max). Coarse
 * by design: the buckets are what every rollup can add up.
 */
export function quantileFromBuckets(buckets: readonly number[], q: number, maxUs: number): number {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i] as number;
    if (seen >= rank) return Math.min(LATENCY_BUCKET_BOUNDS_US[i] ?? maxUs, maxUs);
  }
  return maxUs;
}

/** RED metrics per second or per minute for one org, oldest first; empty steps are absent. */
export async function applicationMetricsSeries(
  client: ClickHouseClient,
  input: TApplicationMetricsSeriesParams,
): Promise<TApplicationMetricsPoint[]> {
  const p = ZApplicationMetricsSeriesParams.parse(input);
  const perMinute = p.step === "minute";
  const from = perMinute
    ? "toStartOfMinute(fromUnixTimestamp64Micro({from:Int64}, 'UTC'))"
    : "fromUnixTimestamp64Micro({from:Int64}, 'UTC')";
  // Qualified: `time` and the counters are also names of SELECT aliases.
  const c = new Conditions()
    .add("m.org_id = {org_id:UUID}")
    .add(`m.time >= ${from}`, { from: p.from })
    .add("m.time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')", { to: p.to });
  const f = p.filters;
  if (f.agentId) c.add("m.agent_id = {agent_id:UUID}", { agent_id: f.agentId });
  if (f.serverIp) c.add("m.server_ip = {server_ip:IPv6}", { server_ip: f.serverIp });
  if (f.serverPort !== undefined)
    c.add("m.server_port = {server_port:UInt16}", { server_port: f.serverPort });
  if (f.l7Protocol !== undefined)
    c.add("m.l7_protocol = {l7_protocol:String}", { l7_protocol: f.l7Protocol });
  if (f.endpoint !== undefined) c.add("m.endpoint = {endpoint:String}", { endpoint: f.endpoint });
  applyFilters(c, APP_METRICS_FILTER_COLUMNS, p.pageFilters);
  const sql = perMinute
    ? `SELECT toUnixTimestamp(m.time) * 1000000 AS time,
         sum(m.requests) AS requests, sum(m.errors_client) AS errors_client,
         sum(m.errors_server) AS errors_server, sum(m.timeouts) AS timeouts,
         sum(m.duration_sum_us) AS duration_sum_us, max(m.duration_max_us) AS duration_max_us,
         sumForEachMerge(m.latency_buckets) AS buckets
       FROM application_metrics_1m AS m WHERE ${c.where()} GROUP BY time ORDER BY time LIMIT 100000`
    : `SELECT toUnixTimestamp64Micro(toStartOfSecond(m.time)) AS time,
         sum(m.requests) AS requests, sum(m.errors_client) AS errors_client,
         sum(m.errors_server) AS errors_server, sum(m.timeouts) AS timeouts,
         sum(m.duration_sum_us) AS duration_sum_us, max(m.duration_max_us) AS duration_max_us,
         sumForEach(m.latency_buckets) AS buckets
       FROM application_metrics AS m WHERE ${c.where()} GROUP BY time ORDER BY time LIMIT 100000`;
  const raw = await orgQuery(client, p.orgId, sql, c.params);
  return raw.map((r) => {
    const x = ZRaw.parse(r);
    return {
      time: x.time,
      requests: x.requests,
      errors_client: x.errors_client,
      errors_server: x.errors_server,
      timeouts: x.timeouts,
      duration_avg_us: x.requests === 0 ? 0 : x.duration_sum_us / x.requests,
      duration_max_us: x.duration_max_us,
      p50_us: quantileFromBuckets(x.buckets, 0.5, x.duration_max_us),
      p95_us: quantileFromBuckets(x.buckets, 0.95, x.duration_max_us),
      p99_us: quantileFromBuckets(x.buckets, 0.99, x.duration_max_us),
    };
  });
}
