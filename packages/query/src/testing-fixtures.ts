import { LATENCY_BUCKETS, type TApplicationMetricsRowInput } from "./rows/application-metrics.ts";
import type { TL4FlowLogRowInput } from "./rows/l4-flow-log.ts";
import type { TL7FlowLogRowInput } from "./rows/l7-flow-log.ts";
import type { TNetworkMetricsRowInput } from "./rows/network-metrics.ts";

/** Valid sample rows for tests (agent wire form), overridable field by field. */

export const ORG_A = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
export const ORG_B = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c";
export const AGENT = "0190a1b2-0000-7000-8000-000000000001";

export function l4Row(over: Partial<TL4FlowLogRowInput> = {}): TL4FlowLogRowInput {
  return {
    org_id: ORG_A,
    agent_id: AGENT,
    flow_id: "9223372036854775809",
    start_time: 1_764_150_000_000_000,
    end_time: 1_764_150_001_234_567,
    client_ip: "10.0.0.1",
    client_port: 40000,
    server_ip: "10.0.0.2",
    server_port: 80,
    ip_protocol: 6,
    vlan: 0,
    tunnel_type: "",
    tunnel_id: 0,
    tunnel_outer_src: "",
    tunnel_outer_dst: "",
    packets_c2s: 10,
    packets_s2c: 8,
    bytes_c2s: 1200,
    bytes_s2c: 64_000,
    close_type: "fin",
    tcp_flags_c2s: 0x1b,
    tcp_flags_s2c: 0x1b,
    rtt_us: 150,
    rtt_client_us: 50,
    rtt_server_us: 100,
    srt_us: 900,
    syn_count: 1,
    synack_count: 1,
    retrans_c2s: 0,
    retrans_s2c: 1,
    zero_win_c2s: 0,
    zero_win_s2c: 0,
    out_of_order_c2s: 0,
    out_of_order_s2c: 0,
    l7_protocol: "http",
    ...over,
  };
}

export function l7Row(over: Partial<TL7FlowLogRowInput> = {}): TL7FlowLogRowInput {
  return {
    org_id: ORG_A,
    agent_id: AGENT,
    flow_id: "9223372036854775809",
    start_time: 1_764_150_000_100_000,
    end_time: 1_764_150_000_101_500,
    client_ip: "10.0.0.1",
    client_port: 40000,
    server_ip: "2001:db8::2",
    server_port: 8080,
    l7_protocol: "http",
    version: "1.1",
    request_type: "GET",
    request_domain: "example.test",
    request_resource: "/api/items?id=?",
    endpoint: "/api/items",
    request_length: 120,
    response_length: 5400,
    response_status: "ok",
    response_code: 200,
    response_exception: "",
    response_duration_us: 1500,
    trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
    span_id: "00f067aa0ba902b7",
    parent_span_id: "",
    x_request_id: "",
    req_tcp_seq: 1000,
    resp_tcp_seq: 2000,
    ...over,
  };
}

export function networkRow(over: Partial<TNetworkMetricsRowInput> = {}): TNetworkMetricsRowInput {
  return {
    org_id: ORG_A,
    agent_id: AGENT,
    time: 1_764_150_000_000_000,
    client_ip: "10.0.0.1",
    server_ip: "10.0.0.2",
    server_port: 80,
    ip_protocol: 6,
    packets_c2s: 10,
    packets_s2c: 8,
    bytes_c2s: 1000,
    bytes_s2c: 9000,
    new_flows: 1,
    closed_flows: 0,
    rtt_sum_us: 300,
    rtt_count: 2,
    retrans_c2s: 0,
    retrans_s2c: 1,
    zero_win_c2s: 0,
    zero_win_s2c: 0,
    client_rst: 0,
    server_rst: 0,
    ...over,
  };
}

export function appRow(over: Partial<TApplicationMetricsRowInput> = {}): TApplicationMetricsRowInput {
  const buckets = new Array(LATENCY_BUCKETS).fill(0);
  buckets[2] = 3;
  buckets[5] = 1;
  return {
    org_id: ORG_A,
    agent_id: AGENT,
    time: 1_764_150_000_000_000,
    server_ip: "10.0.0.2",
    server_port: 8080,
    l7_protocol: "http",
    endpoint: "/api/items",
    requests: 4,
    errors_client: 1,
    errors_server: 0,
    timeouts: 0,
    duration_sum_us: 40_000,
    duration_max_us: 30_000,
    latency_buckets: buckets,
    ...over,
  };
}

let agentFlowSeq = 0;

/**
 * An L4 row as an agent sends it in an ingest batch: no org or agent id (ingest stamps both from
 * the agent's credential), a fresh flow id and client port per call, times just before now.
 */
export function agentL4Row(over: Record<string, unknown> = {}): Record<string, unknown> {
  agentFlowSeq += 1;
  const now = Date.now() * 1000;
  const {
    org_id: _org,
    agent_id: _agent,
    ...row
  } = l4Row({
    flow_id: String(1_000_000 + agentFlowSeq),
    start_time: now - 2_000_000,
    end_time: now,
    client_port: 1024 + (agentFlowSeq % 60_000),
  });
  return { ...row, ...over };
}
