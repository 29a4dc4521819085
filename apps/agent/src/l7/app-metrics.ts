/**
 * Per-second application metrics (RED) per server ip/port, l7_protocol and endpoint, with a
 * latency histogram. A row counts in the second it completes (response or timeout), as
 * DeepFlow does, so a second can be flushed as soon as the clock has passed it. Endpoints per
 * second are bounded: past `maxKeys`, rows fold into the endpoint "" of their server.
 */
import type { L7Row } from "./types.ts";

/** Upper bounds (µs, inclusive) of the latency buckets; one more bucket counts the rest. */
export const APP_LATENCY_BUCKETS_US = [
  1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
  10_000_000,
] as const;

/** One row of `application_metrics`. */
export interface AppMetricsRow {
  time: number;
  org_id: string;
  agent_id: string;
  server_ip: string;
  server_port: number;
  l7_protocol: string;
  endpoint: string;
  request: number;
  response: number;
  client_error: number;
  server_error: number;
  timeout: number;
  rrt_sum_us: number;
  rrt_count: number;
  rrt_max_us: number;
  /** Counts per APP_LATENCY_BUCKETS_US bound, plus the overflow bucket last. */
  latency_buckets: number[];
}

export class AppMetrics {
  /** server ip|port|protocol → endpoint → row: the endpoint string is the row's own, so its hash is cached. */
  private readonly cur = new Map<string, Map<string, AppMetricsRow>>();
  private keys = 0;
  private second = -1;
  folded = 0;

  constructor(
    private readonly orgId: string,
    private readonly agentId: string,
    private readonly emit: (r: AppMetricsRow) => void,
    private readonly maxKeys = 10_000,
  ) {}

  /** `serverKey` identifies server ip, port and protocol (the caller caches it per flow). */
  add(r: L7Row, serverKey: string = `${r.server_ip}|${r.server_port}|${r.l7_protocol}`): void {
    const sec = Math.floor(r.end_time / 1e6) * 1e6;
    if (sec > this.second) {
      this.flush();
      this.second = sec;
    }
    let endpoint = r.endpoint;
    const sk = serverKey;
    let inner = this.cur.get(sk);
    if (inner === undefined) {
      inner = new Map();
      this.cur.set(sk, inner);
    }
    let m = inner.get(endpoint);
    if (m === undefined && this.keys >= this.maxKeys) {
      this.folded++;
      endpoint = "";
      m = inner.get(endpoint);
    }
    if (m === undefined) {
      m = {
        time: this.second,
        org_id: this.orgId,
        agent_id: this.agentId,
        server_ip: r.server_ip,
        server_port: r.server_port,
        l7_protocol: r.l7_protocol,
        endpoint,
        request: 0,
        response: 0,
        client_error: 0,
        server_error: 0,
        timeout: 0,
        rrt_sum_us: 0,
        rrt_count: 0,
        rrt_max_us: 0,
        latency_buckets: new Array(APP_LATENCY_BUCKETS_US.length + 1).fill(0),
      };
      inner.set(endpoint, m);
      this.keys++;
    }
    const hasReq = r.request_type !== "" || r.request_resource !== "" || r.request_length > 0;
    if (hasReq) m.request++;
    const st = r.response_status;
    if (st === "timeout") {
      m.timeout++;
      return;
    }
    if (r.response_length > 0 || r.response_code !== 0 || st !== "unknown") m.response++;
    if (st === "client_error") m.client_error++;
    else if (st === "server_error") m.server_error++;
    if (hasReq && r.response_duration_us > 0) {
      const d = r.response_duration_us;
      m.rrt_sum_us += d;
      m.rrt_count++;
      if (d > m.rrt_max_us) m.rrt_max_us = d;
      let b = 0;
      while (b < APP_LATENCY_BUCKETS_US.length && d > APP_LATENCY_BUCKETS_US[b]!) b++;
      m.latency_buckets[b]!++;
    }
  }

  /** Emits the current second when `nowMicros` is past it. */
  tick(nowMicros: number): void {
    if (this.second >= 0 && nowMicros >= this.second + 1e6) {
      this.flush();
      this.second = -1;
    }
  }

  flush(): void {
    for (const inner of this.cur.values()) for (const m of inner.values()) this.emit(m);
    this.cur.clear();
    this.keys = 0;
  }
}
