import { z } from "zod";
import type { ClickHouseClient } from "../../client.ts";
import { orgQuery } from "../../client.ts";
import { zUuid } from "../../rows/index.ts";
import { quantileFromBuckets as quantileUs } from "../application-metrics-series.ts";
import { Conditions, rangeIsOrdered, timeRangeShape } from "../common.ts";
import { L4_FILTER_COLUMNS, L7_FILTER_COLUMNS } from "./columns.ts";
import { applyFilters, ipTextSql, ZFilters } from "./filters.ts";

/**
 * Service map edges: client node → server node, grouped by a chosen dimension. Request rate,
 * error % and p95 latency come from L7 rows; bytes and retransmissions from L4 flows. Ranges
 * longer than ROLLUP_AFTER_US read the per-minute rollups instead (network_metrics_1m for the
 * edges' bytes and retransmissions, application_metrics_1m for the server's RED), where a
 * client node is always the client IP and RED is the server node's (rollups keep no client).
 */

export const TOPOLOGY_GROUPS = [
  "ip",
  "service",
  "port",
  "agent",
  "l7_protocol",
  "group",
  "resource",
] as const;
export const ROLLUP_AFTER_US = 6 * 3_600_000_000;

export const ZTopologyParams = z
  .object({
    orgId: zUuid,
    ...timeRangeShape,
    groupBy: z.enum(TOPOLOGY_GROUPS).default("service"),
    filters: ZFilters,
    source: z.enum(["auto", "raw", "rollup"]).default("auto"),
    limit: z.number().int().min(1).max(2000).default(500),
  })
  .refine(...rangeIsOrdered);
export type TTopologyParams = z.input<typeof ZTopologyParams>;

export const ZTopologyEdge = z.object({
  client: z.string(),
  server: z.string(),
  requests: z.number(),
  requestRate: z.number(),
  errors: z.number(),
  errorPct: z.number(),
  p95Us: z.number(),
  bytes: z.number(),
  retrans: z.number(),
  flows: z.number(),
});
export type TTopologyEdge = z.infer<typeof ZTopologyEdge>;

/**
 * Node keys: the inner query groups by raw columns (`cols`, aliased k1..), the outer one turns
 * them into text (`c`, `s`): formatting once per group instead of once per row.
 */
function keys(
  groupBy: (typeof TOPOLOGY_GROUPS)[number],
  p: string,
): { cols: string[]; c: string; s: string } {
  const svc = `concat(${ipTextSql("k2")}, ':', toString(k3))`;
  switch (groupBy) {
    case "ip":
      return { cols: [`${p}.client_ip`, `${p}.server_ip`], c: ipTextSql("k1"), s: ipTextSql("k2") };
    case "service":
      return { cols: [`${p}.client_ip`, `${p}.server_ip`, `${p}.server_port`], c: ipTextSql("k1"), s: svc };
    case "port":
      return {
        cols: [`${p}.client_ip`, `${p}.server_port`],
        c: ipTextSql("k1"),
        s: "concat('port ', toString(k2))",
      };
    case "agent":
      return {
        cols: [`${p}.agent_id`, `${p}.server_ip`, `${p}.server_port`],
        c: "concat('agent ', toString(k1))",
        s: svc,
      };
    case "l7_protocol":
      return {
        cols: [`${p}.client_ip`, `${p}.l7_protocol`],
        c: ipTextSql("k1"),
        s: "if(k2 = '', 'unknown', k2)",
      };
    case "group":
      return {
        cols: [`${p}.group_id`, `${p}.server_ip`, `${p}.server_port`],
        c: "concat('group ', toString(k1))",
        s: svc,
      };
    case "resource":
      return {
        cols: [`${p}.client_resource_id`, `${p}.server_resource_id`],
        c: "concat('resource ', toString(k1))",
        s: "concat('resource ', toString(k2))",
      };
  }
}
const inner = (cols: string[]) => cols.map((c, i) => `${c} AS k${i + 1}`).join(", ");
const groupKeys = (cols: string[]) => cols.map((_, i) => `k${i + 1}`).join(", ");

const n = (v: unknown) => Number(v ?? 0);

export async function topologyEdges(
  client: ClickHouseClient,
  input: TTopologyParams,
): Promise<{ edges: TTopologyEdge[]; source: "raw" | "rollup" }> {
  const p = ZTopologyParams.parse(input);
  const seconds = (p.to - p.from) / 1e6;
  const rollupable = (p.groupBy === "ip" || p.groupBy === "service") && p.filters.length === 0;
  const useRollup =
    p.source === "rollup" || (p.source === "auto" && rollupable && p.to - p.from > ROLLUP_AFTER_US);
  const edges = new Map<string, TTopologyEdge>();
  const edge = (c: string, s: string) => {
    const k = `${c}\u0000${s}`;
    let e = edges.get(k);
    if (!e) {
      e = {
        client: c,
        server: s,
        requests: 0,
        requestRate: 0,
        errors: 0,
        errorPct: 0,
        p95Us: 0,
        bytes: 0,
        retrans: 0,
        flows: 0,
      };
      edges.set(k, e);
    }
    return e;
  };
  if (!useRollup) {
    const k7 = keys(p.groupBy, "l");
    const c7 = new Conditions()
      .add("l.org_id = {org_id:UUID}")
      .add("l.start_time >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')", { from: p.from })
      .add("l.start_time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')", { to: p.to });
    const l4Filters = p.filters.filter((f) => Object.hasOwn(L4_FILTER_COLUMNS, f.column));
    const l7Filters = p.filters.filter((f) => Object.hasOwn(L7_FILTER_COLUMNS, f.column));
    applyFilters(c7, L7_FILTER_COLUMNS, l7Filters);
    const k4 = keys(p.groupBy, "f");
    const c4 = new Conditions()
      .add("f.org_id = {org_id:UUID}")
      .add("f.end_time >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')", { from: p.from })
      .add("f.end_time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')", { to: p.to });
    applyFilters(c4, L4_FILTER_COLUMNS, l4Filters);
    const [r7, r4] = await Promise.all([
      orgQuery(
        client,
        p.orgId,
        `SELECT ${k7.c} AS c, ${k7.s} AS s, requests, errors, p95 FROM (
           SELECT ${inner(k7.cols)}, count() AS requests,
             countIf(l.response_status IN ('client_error', 'server_error', 'timeout')) AS errors,
             quantile(0.95)(l.response_duration_us) AS p95
           FROM l7_flow_log AS l WHERE ${c7.where()} GROUP BY ${groupKeys(k7.cols)} ORDER BY requests DESC LIMIT {limit:UInt32})`,
        { ...c7.params, limit: p.limit },
      ),
      orgQuery(
        client,
        p.orgId,
        `SELECT ${k4.c} AS c, ${k4.s} AS s, bytes, retrans, flows FROM (
           SELECT ${inner(k4.cols)}, sum(f.bytes_c2s + f.bytes_s2c) AS bytes,
             sum(f.retrans_c2s + f.retrans_s2c) AS retrans, uniqExact(f.flow_id) AS flows
           FROM l4_flow_log AS f WHERE ${c4.where()} GROUP BY ${groupKeys(k4.cols)} ORDER BY bytes DESC LIMIT {limit:UInt32})`,
        { ...c4.params, limit: p.limit },
      ),
    ]);
    for (const r of r7) {
      const e = edge(String(r.c), String(r.s));
      e.requests = n(r.requests);
      e.errors = n(r.errors);
      e.p95Us = Math.round(n(r.p95));
    }
    for (const r of r4) {
      const e = edge(String(r.c), String(r.s));
      e.bytes = n(r.bytes);
      e.retrans = n(r.retrans);
      e.flows = n(r.flows);
    }
  } else {
    const server = p.groupBy === "ip" ? ipTextSql("si") : `concat(${ipTextSql("si")}, ':', toString(sp))`;
    const serverCols = p.groupBy === "ip" ? "m.server_ip AS si" : "m.server_ip AS si, m.server_port AS sp";
    const serverGroup = p.groupBy === "ip" ? "si" : "si, sp";
    const range = {
      from: p.from,
      to: p.to,
    };
    const where =
      "m.org_id = {org_id:UUID} AND m.time >= toStartOfMinute(fromUnixTimestamp64Micro({from:Int64}, 'UTC')) AND m.time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')";
    const [net, app] = await Promise.all([
      orgQuery(
        client,
        p.orgId,
        `SELECT ${ipTextSql("ci")} AS c, ${server} AS s, bytes, retrans, flows FROM (
           SELECT m.client_ip AS ci, ${serverCols}, sum(m.bytes_c2s) + sum(m.bytes_s2c) AS bytes,
             sum(m.retrans_c2s) + sum(m.retrans_s2c) AS retrans, sum(m.new_flows) AS flows
           FROM network_metrics_1m AS m WHERE ${where} GROUP BY ci, ${serverGroup} ORDER BY bytes DESC LIMIT {limit:UInt32})`,
        { ...range, limit: p.limit },
      ),
      orgQuery(
        client,
        p.orgId,
        `SELECT ${server} AS s, requests, errors, buckets, max_us FROM (
           SELECT ${serverCols}, sum(m.requests) AS requests, sum(m.errors_client) + sum(m.errors_server) + sum(m.timeouts) AS errors,
             sumForEachMerge(m.latency_buckets) AS buckets, max(m.duration_max_us) AS max_us
           FROM application_metrics_1m AS m WHERE ${where} GROUP BY ${serverGroup} LIMIT {limit:UInt32})`,
        { ...range, limit: p.limit },
      ),
    ]);
    const red = new Map(app.map((r) => [String(r.s), r]));
    for (const r of net) {
      const e = edge(String(r.c), String(r.s));
      e.bytes = n(r.bytes);
      e.retrans = n(r.retrans);
      e.flows = n(r.flows);
      const a = red.get(e.server);
      if (a) {
        e.requests = n(a.requests);
        e.errors = n(a.errors);
        e.p95Us = quantileUs((a.buckets as unknown[]).map(n), 0.95, n(a.max_us));
      }
    }
  }
  const out = [...edges.values()].map((e) => ({
    ...e,
    requestRate: seconds > 0 ? e.requests / seconds : 0,
    errorPct: e.requests > 0 ? (100 * e.errors) / e.requests : 0,
  }));
  out.sort((a, b) => b.requests - a.requests || b.bytes - a.bytes);
  return { edges: out.slice(0, p.limit), source: useRollup ? "rollup" : "raw" };
}
