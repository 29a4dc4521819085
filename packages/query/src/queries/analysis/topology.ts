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

export const TOPOLOGY_GROUPS = ["ip", "service", "agent", "l7_protocol", "group", "resource"] as const;
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

/** Node key expressions for the client and server sides (alias p = the table). */
function keys(groupBy: (typeof TOPOLOGY_GROUPS)[number], p: string): [string, string] {
  switch (groupBy) {
    case "ip":
      return [ipTextSql(`${p}.client_ip`), ipTextSql(`${p}.server_ip`)];
    case "service":
      return [
        ipTextSql(`${p}.client_ip`),
        `concat(${ipTextSql(`${p}.server_ip`)}, ':', toString(${p}.server_port))`,
      ];
    case "agent":
      return [
        `concat('agent ', toString(${p}.agent_id))`,
        `concat(${ipTextSql(`${p}.server_ip`)}, ':', toString(${p}.server_port))`,
      ];
    case "l7_protocol":
      return [ipTextSql(`${p}.client_ip`), `if(${p}.l7_protocol = '', 'unknown', ${p}.l7_protocol)`];
    case "group":
      return [
        `concat('group ', toString(${p}.group_id))`,
        `concat(${ipTextSql(`${p}.server_ip`)}, ':', toString(${p}.server_port))`,
      ];
    case "resource":
      return [
        `concat('resource ', toString(${p}.client_resource_id))`,
        `concat('resource ', toString(${p}.server_resource_id))`,
      ];
  }
}

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
    const [l7c, l7s] = keys(p.groupBy, "l");
    const c7 = new Conditions()
      .add("l.org_id = {org_id:UUID}")
      .add("l.start_time >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')", { from: p.from })
      .add("l.start_time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')", { to: p.to });
    const l4Filters = p.filters.filter((f) => Object.hasOwn(L4_FILTER_COLUMNS, f.column));
    const l7Filters = p.filters.filter((f) => Object.hasOwn(L7_FILTER_COLUMNS, f.column));
    applyFilters(c7, L7_FILTER_COLUMNS, l7Filters);
    const [l4c, l4s] = keys(p.groupBy, "f");
    const c4 = new Conditions()
      .add("f.org_id = {org_id:UUID}")
      .add("f.end_time >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')", { from: p.from })
      .add("f.end_time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')", { to: p.to });
    applyFilters(c4, L4_FILTER_COLUMNS, l4Filters);
    const [r7, r4] = await Promise.all([
      orgQuery(
        client,
        p.orgId,
        `SELECT ${l7c} AS c, ${l7s} AS s, count() AS requests,
           countIf(l.response_status IN ('client_error', 'server_error', 'timeout')) AS errors,
           quantile(0.95)(l.response_duration_us) AS p95
         FROM l7_flow_log AS l WHERE ${c7.where()} GROUP BY c, s ORDER BY requests DESC LIMIT {limit:UInt32}`,
        { ...c7.params, limit: p.limit },
      ),
      orgQuery(
        client,
        p.orgId,
        `SELECT ${l4c} AS c, ${l4s} AS s, sum(f.bytes_c2s + f.bytes_s2c) AS bytes,
           sum(f.retrans_c2s + f.retrans_s2c) AS retrans, uniqExact(f.flow_id) AS flows
         FROM l4_flow_log AS f WHERE ${c4.where()} GROUP BY c, s ORDER BY bytes DESC LIMIT {limit:UInt32}`,
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
    const server =
      p.groupBy === "ip"
        ? ipTextSql("m.server_ip")
        : `concat(${ipTextSql("m.server_ip")}, ':', toString(m.server_port))`;
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
        `SELECT ${ipTextSql("m.client_ip")} AS c, ${server} AS s, sum(m.bytes_c2s) + sum(m.bytes_s2c) AS bytes,
           sum(m.retrans_c2s) + sum(m.retrans_s2c) AS retrans, sum(m.new_flows) AS flows
         FROM network_metrics_1m AS m WHERE ${where} GROUP BY c, s ORDER BY bytes DESC LIMIT {limit:UInt32}`,
        { ...range, limit: p.limit },
      ),
      orgQuery(
        client,
        p.orgId,
        `SELECT ${server} AS s, sum(m.requests) AS requests, sum(m.errors_client) + sum(m.errors_server) + sum(m.timeouts) AS errors,
           sumForEachMerge(m.latency_buckets) AS buckets, max(m.duration_max_us) AS max_us
         FROM application_metrics_1m AS m WHERE ${where} GROUP BY s LIMIT {limit:UInt32}`,
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
