import type { z } from "zod";
import { ip, optional, timeUs, u8, u16, u32, u64, uuid } from "./columns.ts";
import { defineRow } from "./table.ts";

/**
 * Per-second network metrics per (org, agent, second, client, server, server port, protocol).
 * `time` is the second's start in µs. Several rows may share a key (flow shards): read with sum().
 * `network_metrics_1m` is built from it by a materialized view.
 */
export const NetworkMetrics = defineRow("network_metrics", "time", {
  org_id: uuid(),
  agent_id: uuid(),
  time: timeUs(),
  client_ip: ip(),
  server_ip: ip(),
  server_port: u16(),
  ip_protocol: u8(),
  packets_c2s: u64(),
  packets_s2c: u64(),
  bytes_c2s: u64(),
  bytes_s2c: u64(),
  new_flows: u32(),
  closed_flows: u32(),
  rtt_sum_us: u64(),
  rtt_count: u32(),
  retrans_c2s: u32(),
  retrans_s2c: u32(),
  zero_win_c2s: u32(),
  zero_win_s2c: u32(),
  client_rst: u32(),
  server_rst: u32(),
  timeouts: optional(u32(), "0"),
  group_id: optional(u32(), "0"),
  // AutoTagging (DDL 0010): set at ingest from client_ip / server_ip, like the flow logs.
  client_resource_id: optional(u32(), "0"),
  server_resource_id: optional(u32(), "0"),
});

export const ZNetworkMetricsRow = NetworkMetrics.schema;
export type TNetworkMetricsRow = z.output<typeof ZNetworkMetricsRow>;
export type TNetworkMetricsRowInput = z.input<typeof ZNetworkMetricsRow>;

export { NETWORK_METRIC_COUNTERS } from "./counters.ts";
