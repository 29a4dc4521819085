import { z } from "zod";
import type { ClickHouseClient } from "../client.ts";
import { orgQuery } from "../client.ts";
import { zUuid } from "../rows/index.ts";
import { NET_METRICS_FILTER_COLUMNS } from "./analysis/columns.ts";
import { applyFilters, ZFilters } from "./analysis/filters.ts";
import { Conditions, rangeIsOrdered, timeRangeShape, ZIpText, ZPort } from "./common.ts";

export const ZNetworkMetricsSeriesParams = z
  .object({
    orgId: zUuid,
    ...timeRangeShape,
    /** second: from network_metrics; minute: from the network_metrics_1m rollup. */
    step: z.enum(["second", "minute"]).default("minute"),
    filters: z
      .object({
        agentId: zUuid.optional(),
        clientIp: ZIpText.optional(),
        serverIp: ZIpText.optional(),
        serverPort: ZPort.optional(),
        ipProtocol: z.number().int().min(0).max(255).optional(),
      })
      .default({}),
    /** The analysis filter builder's filters (NET_METRICS_FILTER_COLUMNS: tags included). */
    pageFilters: ZFilters,
  })
  .refine(...rangeIsOrdered);
export type TNetworkMetricsSeriesParams = z.input<typeof ZNetworkMetricsSeriesParams>;

const num = z.preprocess((v) => (typeof v === "string" ? Number(v) : v), z.number());
export const ZNetworkMetricsPoint = z.object({
  /** Start of the step, µs since the epoch. */
  time: num,
  packets_c2s: num,
  packets_s2c: num,
  bytes_c2s: num,
  bytes_s2c: num,
  new_flows: num,
  closed_flows: num,
  retrans: num,
  zero_win: num,
  resets: num,
  timeouts: num,
  /** Mean handshake RTT in the step, 0 when none. */
  rtt_avg_us: num,
});
export type TNetworkMetricsPoint = z.infer<typeof ZNetworkMetricsPoint>;

/** Network totals per second or per minute for one org, oldest first; empty steps are absent. */
export async function networkMetricsSeries(
  client: ClickHouseClient,
  input: TNetworkMetricsSeriesParams,
): Promise<TNetworkMetricsPoint[]> {
  const p = ZNetworkMetricsSeriesParams.parse(input);
  const perMinute = p.step === "minute";
  const table = perMinute ? "network_metrics_1m" : "network_metrics";
  // The rollup's time is a minute DateTime; widen the range to whole minutes.
  const from = perMinute
    ? "toStartOfMinute(fromUnixTimestamp64Micro({from:Int64}, 'UTC'))"
    : "fromUnixTimestamp64Micro({from:Int64}, 'UTC')";
  const c = new Conditions()
    // Qualified: `time` and the counters are also names of SELECT aliases.
    .add("m.org_id = {org_id:UUID}")
    .add(`m.time >= ${from}`, { from: p.from })
    .add("m.time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')", { to: p.to });
  const f = p.filters;
  if (f.agentId) c.add("m.agent_id = {agent_id:UUID}", { agent_id: f.agentId });
  if (f.clientIp) c.add("m.client_ip = {client_ip:IPv6}", { client_ip: f.clientIp });
  if (f.serverIp) c.add("m.server_ip = {server_ip:IPv6}", { server_ip: f.serverIp });
  if (f.serverPort !== undefined)
    c.add("m.server_port = {server_port:UInt16}", { server_port: f.serverPort });
  if (f.ipProtocol !== undefined) c.add("m.ip_protocol = {ip_protocol:UInt8}", { ip_protocol: f.ipProtocol });
  applyFilters(c, NET_METRICS_FILTER_COLUMNS, p.pageFilters);
  const bucket = perMinute
    ? "toUnixTimestamp(time) * 1000000"
    : "toUnixTimestamp64Micro(toStartOfSecond(time))";
  const sql = `
    SELECT
      ${bucket} AS time,
      sum(m.packets_c2s) AS packets_c2s, sum(m.packets_s2c) AS packets_s2c,
      sum(m.bytes_c2s) AS bytes_c2s, sum(m.bytes_s2c) AS bytes_s2c,
      sum(m.new_flows) AS new_flows, sum(m.closed_flows) AS closed_flows,
      sum(m.retrans_c2s) + sum(m.retrans_s2c) AS retrans,
      sum(m.zero_win_c2s) + sum(m.zero_win_s2c) AS zero_win,
      sum(m.client_rst) + sum(m.server_rst) AS resets,
      sum(m.timeouts) AS timeouts,
      if(sum(m.rtt_count) = 0, 0, sum(m.rtt_sum_us) / sum(m.rtt_count)) AS rtt_avg_us
    FROM ${table} AS m
    WHERE ${c.where()}
    GROUP BY time
    ORDER BY time
    LIMIT 100000`;
  const raw = await orgQuery(client, p.orgId, sql, c.params);
  return raw.map((r) => ZNetworkMetricsPoint.parse(r));
}
