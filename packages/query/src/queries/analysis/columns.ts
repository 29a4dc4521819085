import type { ColumnSpec } from "./filters.ts";
import { tagFilterColumns } from "./resource-tags.ts";

/** What each page may filter on (the allow-lists of the filter builder). */
export const L4_FILTER_COLUMNS: Readonly<Record<string, ColumnSpec>> = {
  client_ip: { sql: "f.client_ip", type: "IPv6", label: "Client IP" },
  server_ip: { sql: "f.server_ip", type: "IPv6", label: "Server IP" },
  client_port: { sql: "f.client_port", type: "UInt16", label: "Client port" },
  server_port: { sql: "f.server_port", type: "UInt16", label: "Server port" },
  ip_protocol: { sql: "f.ip_protocol", type: "UInt8", label: "IP protocol" },
  l7_protocol: { sql: "f.l7_protocol", type: "String", label: "L7 protocol" },
  close_type: { sql: "f.close_type", type: "String", label: "Close type" },
  tunnel_type: { sql: "f.tunnel_type", type: "String", label: "Tunnel type" },
  tunnel_id: { sql: "f.tunnel_id", type: "UInt32", label: "Tunnel id" },
  vlan: { sql: "f.vlan", type: "UInt16", label: "VLAN" },
  agent_id: { sql: "f.agent_id", type: "UUID", label: "Agent" },
  group_id: { sql: "f.group_id", type: "UInt32", label: "Agent group id" },
  client_resource_id: { sql: "f.client_resource_id", type: "UInt32", label: "Client resource id" },
  server_resource_id: { sql: "f.server_resource_id", type: "UInt32", label: "Server resource id" },
  flow_id: { sql: "f.flow_id", type: "UInt64", label: "Flow id" },
  rtt_us: { sql: "f.rtt_us", type: "UInt32", label: "RTT (µs)" },
  retrans: { sql: "(f.retrans_c2s + f.retrans_s2c)", type: "UInt32", label: "Retransmissions" },
  bytes: { sql: "(f.bytes_c2s + f.bytes_s2c)", type: "UInt64", label: "Bytes" },
  ...tagFilterColumns("f"),
};

export const L7_FILTER_COLUMNS: Readonly<Record<string, ColumnSpec>> = {
  client_ip: { sql: "l.client_ip", type: "IPv6", label: "Client IP" },
  server_ip: { sql: "l.server_ip", type: "IPv6", label: "Server IP" },
  server_port: { sql: "l.server_port", type: "UInt16", label: "Server port" },
  l7_protocol: { sql: "l.l7_protocol", type: "String", label: "L7 protocol" },
  request_type: { sql: "l.request_type", type: "String", label: "Method / type" },
  request_domain: { sql: "l.request_domain", type: "String", label: "Domain" },
  request_resource: { sql: "l.request_resource", type: "String", label: "Resource" },
  endpoint: { sql: "l.endpoint", type: "String", label: "Endpoint" },
  response_status: { sql: "l.response_status", type: "String", label: "Status" },
  response_code: { sql: "l.response_code", type: "Int32", label: "Code" },
  response_duration_us: { sql: "l.response_duration_us", type: "UInt64", label: "Latency (µs)" },
  trace_id: { sql: "l.trace_id", type: "String", label: "Trace id" },
  x_request_id: { sql: "l.x_request_id", type: "String", label: "X-Request-ID" },
  agent_id: { sql: "l.agent_id", type: "UUID", label: "Agent" },
  group_id: { sql: "l.group_id", type: "UInt32", label: "Agent group id" },
  client_resource_id: { sql: "l.client_resource_id", type: "UInt32", label: "Client resource id" },
  server_resource_id: { sql: "l.server_resource_id", type: "UInt32", label: "Server resource id" },
  flow_id: { sql: "l.flow_id", type: "UInt64", label: "Flow id" },
  ...tagFilterColumns("l"),
};

/**
 * The metrics tables (alias `m`), raw and rolled up: every column here is a key of the 1m and 1h
 * rollups too (DDL 0010), so a filter never forces the raw rows. application_metrics rows are
 * summed over clients, so it has no client columns.
 */
export const NET_METRICS_FILTER_COLUMNS: Readonly<Record<string, ColumnSpec>> = {
  client_ip: { sql: "m.client_ip", type: "IPv6", label: "Client IP" },
  server_ip: { sql: "m.server_ip", type: "IPv6", label: "Server IP" },
  server_port: { sql: "m.server_port", type: "UInt16", label: "Server port" },
  ip_protocol: { sql: "m.ip_protocol", type: "UInt8", label: "IP protocol" },
  agent_id: { sql: "m.agent_id", type: "UUID", label: "Agent" },
  group_id: { sql: "m.group_id", type: "UInt32", label: "Agent group id" },
  client_resource_id: { sql: "m.client_resource_id", type: "UInt32", label: "Client resource id" },
  server_resource_id: { sql: "m.server_resource_id", type: "UInt32", label: "Server resource id" },
  ...tagFilterColumns("m"),
};

export const APP_METRICS_FILTER_COLUMNS: Readonly<Record<string, ColumnSpec>> = {
  server_ip: { sql: "m.server_ip", type: "IPv6", label: "Server IP" },
  server_port: { sql: "m.server_port", type: "UInt16", label: "Server port" },
  l7_protocol: { sql: "m.l7_protocol", type: "String", label: "L7 protocol" },
  endpoint: { sql: "m.endpoint", type: "String", label: "Endpoint" },
  agent_id: { sql: "m.agent_id", type: "UUID", label: "Agent" },
  group_id: { sql: "m.group_id", type: "UInt32", label: "Agent group id" },
  server_resource_id: { sql: "m.server_resource_id", type: "UInt32", label: "Server resource id" },
  ...tagFilterColumns("m", ["server"]),
};

/** The metrics page's builder: both tables' columns (each filter applies to the tables holding it). */
export const METRICS_FILTER_COLUMNS: Readonly<Record<string, ColumnSpec>> = {
  ...NET_METRICS_FILTER_COLUMNS,
  ...APP_METRICS_FILTER_COLUMNS,
};

/** Sortable columns: a numeric SQL key (times as µs) per name. */
export const L4_SORT_COLUMNS = {
  end_time: "toUnixTimestamp64Micro(f.end_time)",
  start_time: "toUnixTimestamp64Micro(f.start_time)",
  bytes: "(f.bytes_c2s + f.bytes_s2c)",
  packets: "(f.packets_c2s + f.packets_s2c)",
  rtt_us: "toUInt64(f.rtt_us)",
  retrans: "toUInt64(f.retrans_c2s + f.retrans_s2c)",
  server_port: "toUInt64(f.server_port)",
} as const;

export const L7_SORT_COLUMNS = {
  start_time: "toUnixTimestamp64Micro(l.start_time)",
  response_duration_us: "l.response_duration_us",
  response_code: "toInt64(ifNull(l.response_code, -1))",
  request_length: "l.request_length",
  response_length: "l.response_length",
} as const;
