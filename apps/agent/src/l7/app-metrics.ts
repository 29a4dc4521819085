/**
 * Per-second application metrics (RED) per server ip/port, l7_protocol and endpoint, with a
 * latency histogram. A row counts in the second it completes (its `end_time`: response or
 * timeout), as DeepFlow does, so a second can be flushed as soon as the clock has passed it;
 * a row completing in a second already flushed is emitted as a correction row for that second.
 * Endpoints per second are bounded: past `maxKeys`, rows fold into the endpoint "" of their
 * server.
 */
import {
  LATENCY_BUCKET_BOUNDS_US,
  LATENCY_BUCKETS,
  latencyBucketOf,
  type TApplicationMetricsRow,
} from "@flowplane/query/rows";
import type { L7Row } from "./types.ts";

/** The histogram bounds are the query package's, so agent rows and rollups add up bucket-wise. */
export const APP_LATENCY_BUCKETS_US = LATENCY_BUCKET_BOUNDS_US;

/** One row of `application_metrics`, exactly as packages/query defines it. */
export type AppMetricsRow = TApplicationMetricsRow;

/** Server ids are dropped (at a second boundary) once this many are known. */
const MAX_IDS = 100_000;

/**
 * A server (ip, port, protocol) gets a small integer id once per flow (`serverId`, cached by the
 * processor), so a row never hashes the server's strings. Endpoints are keyed by their string in
 * the second's own table, not through an id from a table of every endpoint seen: on the HTTP
 * capture that table held 10 k endpoints and its lookup (cache misses on a large table, for a
 * string that is new at almost every row) was ~5 % of the L7 processor's CPU samples, as much
 * as parsing the request; the second's table holds only the endpoints of that second. Iteration
 * order, and so the output, is unchanged: servers in first-seen order within a second,
 * endpoints likewise.
 */
export class AppMetrics {
  /** server id → endpoint → row, for the current second. */
  private readonly cur = new Map<number, Map<string, AppMetricsRow>>();
  /**
   * Rows completing in a second that was already flushed (a timeout found late, a worker
   * behind another): second → server id → endpoint id → row. They go out with the next flush
   * as correction rows for their own second (rows are summed by key downstream).
   */
  private readonly late = new Map<number, Map<number, Map<string, AppMetricsRow>>>();
  private readonly serverIds = new Map<string, number>();
  /** Bumped when the ids are dropped: ids cached by callers in an older epoch are stale. */
  epoch = 0;
  private keys = 0;
  private second = -1;
  folded = 0;
  /** Rows counted into an earlier second than the current one (correction rows follow). */
  lateRows = 0;

  constructor(
    private readonly orgId: string,
    private readonly agentId: string,
    private readonly emit: (r: AppMetricsRow) => void,
    private readonly maxKeys = 10_000,
  ) {}

  /** Id of a row's server (ip|port|protocol), valid while `epoch` is unchanged. */
  serverId(r: L7Row): number {
    const key = `${r.server_ip}|${r.server_port}|${r.l7_protocol}`;
    let id = this.serverIds.get(key);
    if (id === undefined) {
      id = this.serverIds.size;
      this.serverIds.set(key, id);
    }
    return id;
  }

  /**
   * `srv` is the id of the row's server (`serverId`). A row counts in the second of its own end
   * time, whatever second the processor is at.
   */
  add(r: L7Row, srv: number): void {
    const sec = Math.floor(r.end_time / 1e6) * 1e6;
    let bySrv = this.cur;
    if (sec > this.second) {
      this.flush();
      this.second = sec;
      // Between seconds no table holds an id (all flushed): they can be dropped here.
      if (this.serverIds.size > MAX_IDS) {
        this.serverIds.clear();
        this.epoch++;
        srv = this.serverId(r);
      }
    } else if (sec < this.second) {
      this.lateRows++;
      let l = this.late.get(sec);
      if (l === undefined) {
        l = new Map();
        this.late.set(sec, l);
      }
      bySrv = l;
    }
    let endpoint = r.endpoint;
    let inner = bySrv.get(srv);
    if (inner === undefined) {
      inner = new Map();
      bySrv.set(srv, inner);
    }
    let m = inner.get(endpoint);
    if (m === undefined && this.keys >= this.maxKeys) {
      this.folded++;
      endpoint = "";
      m = inner.get(endpoint);
    }
    if (m === undefined) {
      m = {
        time: sec,
        org_id: this.orgId,
        agent_id: this.agentId,
        server_ip: r.server_ip,
        server_port: r.server_port,
        l7_protocol: r.l7_protocol,
        endpoint,
        requests: 0,
        errors_client: 0,
        errors_server: 0,
        timeouts: 0,
        duration_sum_us: 0,
        duration_max_us: 0,
        latency_buckets: new Array(LATENCY_BUCKETS).fill(0),
      } as AppMetricsRow;
      inner.set(endpoint, m);
      this.keys++;
    }
    const hasReq = r.request_type !== "" || r.request_resource !== "" || r.request_length > 0;
    // A response without a captured request still counts: it is a served request seen late.
    if (hasReq || r.response_status !== "unknown") m.requests++;
    const st = r.response_status;
    if (st === "timeout") {
      m.timeouts++;
      return;
    }
    if (st === "client_error") m.errors_client++;
    else if (st === "server_error") m.errors_server++;
    if (hasReq && r.response_duration_us > 0) {
      const d = r.response_duration_us;
      m.duration_sum_us += d;
      if (d > m.duration_max_us) m.duration_max_us = d;
      (m.latency_buckets as number[])[latencyBucketOf(d)]!++;
    }
  }

  /** Emits the current second when `nowMicros` is past it. */
  tick(nowMicros: number): void {
    if (this.second >= 0 && nowMicros >= this.second + 1e6) {
      this.flush();
      // Kept (not reset): a row of this second or earlier arriving later is a correction.
    }
  }

  flush(): void {
    // Corrections first, oldest second first: output stays ordered by time within a flush.
    if (this.late.size > 0) {
      for (const sec of [...this.late.keys()].sort((a, b) => a - b))
        for (const inner of this.late.get(sec)!.values()) for (const m of inner.values()) this.emit(m);
      this.late.clear();
    }
    for (const inner of this.cur.values()) for (const m of inner.values()) this.emit(m);
    this.cur.clear();
    this.keys = 0;
  }
}
