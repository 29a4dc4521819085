import type { z } from "zod";
import { bool, ip, optional, optionalIp, timeUs, token, u8, u16, u32, u64, u64id, uuid } from "./columns.ts";
import { defineRow } from "./table.ts";

/** Known close reasons; the column takes any token so a new reason needs no migration. */
export const CLOSE_TYPES = [
  "fin",
  "client_rst",
  "server_rst",
  "timeout",
  "forced_report",
  "flow_table_full",
  "port_reuse",
] as const;

/** Tunnel kinds the decoder keeps as tags ("" = none). */
export const TUNNEL_TYPES = ["", "vxlan", "geneve", "gre", "erspan2", "erspan3", "ipip"] as const;

/**
 * One L4 flow report. A long flow is reported every minute (`close_type` forced_report) and at its
 * end, all with the same `flow_id`. Counters in each report are deltas since the flow's previous
 * report, so a flow's totals are the sum over its rows; `report_seq` numbers the reports and
 * `is_final` marks the last one (default: close_type is not forced_report).
 */
export const L4FlowLog = defineRow("l4_flow_log", "end_time", {
  org_id: uuid(),
  agent_id: uuid(),
  flow_id: u64id(),
  report_seq: optional(u32(), "0"),
  is_final: optional(bool(), "close_type != 'forced_report'"),
  start_time: timeUs(),
  end_time: timeUs(),
  client_ip: ip(),
  client_port: u16(),
  server_ip: ip(),
  server_port: u16(),
  ip_protocol: u8(),
  vlan: u16(),
  tunnel_type: token(),
  tunnel_id: u32(),
  tunnel_outer_src: optionalIp(),
  tunnel_outer_dst: optionalIp(),
  packets_c2s: u64(),
  packets_s2c: u64(),
  bytes_c2s: u64(),
  bytes_s2c: u64(),
  close_type: token(),
  tcp_flags_c2s: u16(),
  tcp_flags_s2c: u16(),
  rtt_us: u32(),
  rtt_client_us: u32(),
  rtt_server_us: u32(),
  srt_us: u32(),
  syn_count: u32(),
  synack_count: u32(),
  retrans_c2s: u32(),
  retrans_s2c: u32(),
  zero_win_c2s: u32(),
  zero_win_s2c: u32(),
  out_of_order_c2s: u32(),
  out_of_order_s2c: u32(),
  l7_protocol: token(),
  // SmartEncoding tag ids, names in tag_dict (0 = none).
  group_id: optional(u32(), "0"),
  client_resource_id: optional(u32(), "0"),
  server_resource_id: optional(u32(), "0"),
});

export const ZL4FlowLogRow = L4FlowLog.schema;
/** A row as validated (after normalisation). */
export type TL4FlowLogRow = z.output<typeof ZL4FlowLogRow>;
/** A row as an agent may write it. */
export type TL4FlowLogRowInput = z.input<typeof ZL4FlowLogRow>;
