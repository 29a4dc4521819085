import type { z } from "zod";
import { ip, nullableI32, optional, text, timeUs, token, u8, u16, u32, u64, u64id, uuid } from "./columns.ts";
import { defineRow } from "./table.ts";

/** Protocols the L7 parsers name; the column takes any token. */
export const L7_PROTOCOLS = [
  "http",
  "http2",
  "grpc",
  "tls",
  "dns",
  "mysql",
  "postgresql",
  "redis",
  "kafka",
  "mqtt",
  "dubbo",
  "amqp",
  "nats",
] as const;

export const RESPONSE_STATUSES = ["ok", "client_error", "server_error", "timeout", "unknown"] as const;

/**
 * One request/response exchange, linked to its L4 flow by `flow_id`. A request with no response
 * has status timeout and null `response_code`; a response without its request has empty request
 * fields; a one-way message is one row.
 */
export const L7FlowLog = defineRow("l7_flow_log", "start_time", {
  org_id: uuid(),
  agent_id: uuid(),
  flow_id: u64id(),
  start_time: timeUs(),
  end_time: timeUs(),
  client_ip: ip(),
  client_port: u16(),
  server_ip: ip(),
  server_port: u16(),
  ip_protocol: optional(u8(), "6"),
  l7_protocol: token(),
  version: text(32),
  request_type: text(256),
  request_domain: text(1024),
  request_resource: text(4096),
  endpoint: text(1024),
  request_length: u64(),
  response_length: u64(),
  response_status: token(),
  response_code: nullableI32(),
  response_exception: text(1024),
  response_duration_us: u64(),
  trace_id: text(128),
  span_id: text(64),
  parent_span_id: text(64),
  x_request_id: text(256),
  req_tcp_seq: u32(),
  resp_tcp_seq: u32(),
  // SmartEncoding tag ids, names in tag_dict (0 = none).
  group_id: optional(u32(), "0"),
  client_resource_id: optional(u32(), "0"),
  server_resource_id: optional(u32(), "0"),
});

export const ZL7FlowLogRow = L7FlowLog.schema;
export type TL7FlowLogRow = z.output<typeof ZL7FlowLogRow>;
export type TL7FlowLogRowInput = z.input<typeof ZL7FlowLogRow>;
