import {
  LATENCY_BUCKETS,
  latencyBucketOf,
  type TApplicationMetricsRowInput,
} from "../../rows/application-metrics.ts";
import type { TL4FlowLogRowInput } from "../../rows/l4-flow-log.ts";
import type { TL7FlowLogRowInput } from "../../rows/l7-flow-log.ts";
import type { TNetworkMetricsRowInput } from "../../rows/network-metrics.ts";

/**
 * A small fixed data set for the analysis pages' tests (query, router and browser tests): exact
 * counts are known. `t0` (µs) is the time of the first row; everything lies within 10 minutes.
 *
 * Org A: 20 HTTP flows 10.1.0.1 → 10.2.0.1:8080 (2 requests each, 4 of 40 answer 500, 1 retrans
 * per flow) and 10 MySQL flows 10.1.0.2 → 10.3.0.1:3306 (1 query each), seen by agent A1 (client
 * side). Agent A2 on the server sees the first 5 HTTP requests again behind NAT (client
 * 192.168.0.5) with the same TCP sequences. Traces: "trace-ok" (client span → server span by
 * parent id), "trace-broken" (a span whose parent was seen by no agent), and a call with no
 * trace key, joined across agents by TCP sequence only.
 * Org B: 5 HTTP flows 10.9.9.9 → 10.9.9.10:80 on endpoint /secret-b.
 */
export const FIXTURE_AGENT_A1 = "0190a1b2-0000-7000-8000-0000000000a1";
export const FIXTURE_AGENT_A2 = "0190a1b2-0000-7000-8000-0000000000a2";
export const FIXTURE_AGENT_B = "0190a1b2-0000-7000-8000-0000000000b1";

export interface AnalysisFixture {
  l4: TL4FlowLogRowInput[];
  l7: TL7FlowLogRowInput[];
  network: TNetworkMetricsRowInput[];
  app: TApplicationMetricsRowInput[];
}

function l4(over: Partial<TL4FlowLogRowInput> & { flow_id: string; start_time: number }): TL4FlowLogRowInput {
  return {
    org_id: "",
    agent_id: FIXTURE_AGENT_A1,
    end_time: over.start_time + 50_000,
    client_ip: "10.1.0.1",
    client_port: 40000,
    server_ip: "10.2.0.1",
    server_port: 8080,
    ip_protocol: 6,
    vlan: 0,
    tunnel_type: "",
    tunnel_id: 0,
    tunnel_outer_src: "",
    tunnel_outer_dst: "",
    packets_c2s: 10,
    packets_s2c: 10,
    bytes_c2s: 1000,
    bytes_s2c: 9000,
    close_type: "fin",
    tcp_flags_c2s: 0x1b,
    tcp_flags_s2c: 0x1b,
    rtt_us: 200,
    rtt_client_us: 100,
    rtt_server_us: 100,
    srt_us: 1000,
    syn_count: 1,
    synack_count: 1,
    retrans_c2s: 0,
    retrans_s2c: 1,
    zero_win_c2s: 0,
    zero_win_s2c: 0,
    out_of_order_c2s: 0,
    out_of_order_s2c: 0,
    l7_protocol: "http",
    group_id: 1,
    ...over,
  };
}

function l7(over: Partial<TL7FlowLogRowInput> & { flow_id: string; start_time: number }): TL7FlowLogRowInput {
  const dur = (over.response_duration_us as number | undefined) ?? 2000;
  return {
    org_id: "",
    agent_id: FIXTURE_AGENT_A1,
    end_time: over.start_time + dur,
    client_ip: "10.1.0.1",
    client_port: 40000,
    server_ip: "10.2.0.1",
    server_port: 8080,
    l7_protocol: "http",
    version: "1.1",
    request_type: "GET",
    request_domain: "shop.test",
    request_resource: "/api/cart",
    endpoint: "/api/cart",
    request_length: 100,
    response_length: 4000,
    response_status: "ok",
    response_code: 200,
    response_exception: "",
    response_duration_us: dur,
    trace_id: "",
    span_id: "",
    parent_span_id: "",
    x_request_id: "",
    req_tcp_seq: 0,
    resp_tcp_seq: 0,
    group_id: 1,
    ...over,
  };
}

export function analysisFixture(
  orgA: string,
  orgB: string,
  t0: number,
): { a: AnalysisFixture; b: AnalysisFixture } {
  const a: AnalysisFixture = { l4: [], l7: [], network: [], app: [] };
  const b: AnalysisFixture = { l4: [], l7: [], network: [], app: [] };
  const sec = 1_000_000;
  for (let i = 0; i < 20; i++) {
    const flow = String(1000 + i);
    const t = t0 + i * 20 * sec;
    a.l4.push({ ...l4({ flow_id: flow, start_time: t, client_port: 40000 + i }), org_id: orgA });
    for (let j = 0; j < 2; j++) {
      const n = i * 2 + j;
      const err = n % 10 === 9;
      const row = l7({
        flow_id: flow,
        start_time: t + 1000 + j * 10_000,
        client_port: 40000 + i,
        response_duration_us: 1000 + n * 1000,
        response_status: err ? "server_error" : "ok",
        response_code: err ? 500 : 200,
        endpoint: j === 0 ? "/api/cart" : "/api/items",
        request_resource: j === 0 ? "/api/cart" : "/api/items",
        req_tcp_seq: 5000 + n,
        resp_tcp_seq: 9000 + n,
      });
      if (n === 0) Object.assign(row, { trace_id: "trace-ok", span_id: "span-client" });
      if (n === 2)
        Object.assign(row, { trace_id: "trace-broken", span_id: "span-orphan", parent_span_id: "span-gone" });
      a.l7.push({ ...row, org_id: orgA });
      if (n < 5) {
        // The same call on the server's agent, behind NAT: other client address, same sequences.
        const server = {
          ...row,
          agent_id: FIXTURE_AGENT_A2,
          client_ip: "192.168.0.5",
          client_port: 30000 + n,
          start_time: (row.start_time as number) + 200,
          response_duration_us: (row.response_duration_us as number) - 400,
          end_time: (row.end_time as number) - 200,
          org_id: orgA,
        };
        if (n === 0) Object.assign(server, { span_id: "span-server", parent_span_id: "span-client" });
        if (n === 2) Object.assign(server, { trace_id: "", span_id: "", parent_span_id: "" });
        a.l7.push(server);
      }
    }
  }
  for (let i = 0; i < 10; i++) {
    const flow = String(2000 + i);
    const t = t0 + i * 30 * sec;
    a.l4.push({
      ...l4({
        flow_id: flow,
        start_time: t,
        client_ip: "10.1.0.2",
        server_ip: "10.3.0.1",
        server_port: 3306,
        l7_protocol: "mysql",
        retrans_s2c: 0,
        close_type: i === 0 ? "server_rst" : "fin",
      }),
      org_id: orgA,
    });
    a.l7.push({
      ...l7({
        flow_id: flow,
        start_time: t + 500,
        client_ip: "10.1.0.2",
        server_ip: "10.3.0.1",
        server_port: 3306,
        l7_protocol: "mysql",
        request_type: "COM_QUERY",
        request_domain: "",
        request_resource: "SELECT * FROM items WHERE id = ?",
        endpoint: "SELECT items",
        response_code: 0,
      }),
      org_id: orgA,
    });
  }
  for (let i = 0; i < 5; i++) {
    const flow = String(3000 + i);
    const t = t0 + i * 10 * sec;
    const common = {
      agent_id: FIXTURE_AGENT_B,
      client_ip: "10.9.9.9",
      server_ip: "10.9.9.10",
      server_port: 80,
    };
    b.l4.push({ ...l4({ flow_id: flow, start_time: t, ...common }), org_id: orgB });
    b.l7.push({
      ...l7({ flow_id: flow, start_time: t + 100, ...common, endpoint: "/secret-b", trace_id: "trace-ok" }),
      org_id: orgB,
    });
  }
  // Metrics: one row per minute for 10 minutes, from the L7 rows' shape.
  for (let m = 0; m < 10; m++) {
    const time = t0 + m * 60 * sec;
    const buckets = new Array(LATENCY_BUCKETS).fill(0);
    buckets[latencyBucketOf(3000)] = 8;
    buckets[latencyBucketOf(30_000)] = 2;
    const app: TApplicationMetricsRowInput = {
      org_id: orgA,
      agent_id: FIXTURE_AGENT_A1,
      time,
      server_ip: "10.2.0.1",
      server_port: 8080,
      l7_protocol: "http",
      endpoint: m % 2 ? "/api/items" : "/api/cart",
      requests: 10,
      errors_client: 0,
      errors_server: 1,
      timeouts: 0,
      duration_sum_us: 84_000,
      duration_max_us: 30_000,
      latency_buckets: buckets,
      group_id: 1,
    };
    const net: TNetworkMetricsRowInput = {
      org_id: orgA,
      agent_id: FIXTURE_AGENT_A1,
      time,
      client_ip: "10.1.0.1",
      server_ip: "10.2.0.1",
      server_port: 8080,
      ip_protocol: 6,
      packets_c2s: 20,
      packets_s2c: 20,
      bytes_c2s: 2000,
      bytes_s2c: 18_000,
      new_flows: 2,
      closed_flows: 2,
      rtt_sum_us: 400,
      rtt_count: 2,
      retrans_c2s: 0,
      retrans_s2c: 2,
      zero_win_c2s: 0,
      zero_win_s2c: m === 0 ? 1 : 0,
      client_rst: 0,
      server_rst: m === 0 ? 1 : 0,
      group_id: 1,
    };
    a.app.push(app);
    a.network.push(net);
    b.app.push({
      ...app,
      org_id: orgB,
      agent_id: FIXTURE_AGENT_B,
      server_ip: "10.9.9.10",
      requests: 99,
    });
    b.network.push({
      ...net,
      org_id: orgB,
      agent_id: FIXTURE_AGENT_B,
      server_ip: "10.9.9.10",
    });
  }
  return { a, b };
}
