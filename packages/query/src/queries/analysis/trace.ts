import { z } from "zod";
import type { ClickHouseClient } from "../../client.ts";
import { orgQuery } from "../../client.ts";
import { decodeRow, L7FlowLog, selectWireColumns, type TL7FlowLogRow, zUuid } from "../../rows/index.ts";
import { rangeIsOrdered, timeRangeShape } from "../common.ts";

/**
 * Trace assembly from L7 spans seen by any agent: spans sharing the trace id or X-Request-ID,
 * plus the same call seen on both sides (client agent and server agent) matched by TCP sequence
 * (req_tcp_seq and resp_tcp_seq both equal, non-zero: survives NAT, which rewrites addresses and
 * ports but not sequence numbers). Spans are searched in a wider window than the range so a hop
 * outside it is reported rather than silently missing.
 */

export const ZTraceParams = z
  .object({
    orgId: zUuid,
    ...timeRangeShape,
    traceId: z.string().min(1).max(128).optional(),
    xRequestId: z.string().min(1).max(128).optional(),
    /** Start from one L7 row (agent + flow id + request sequence), e.g. a row of the L7 page. */
    flowId: z
      .string()
      .regex(/^\d{1,20}$/)
      .optional(),
    reqTcpSeq: z.number().int().min(0).max(4_294_967_295).optional(),
    /**
     * The agent that saw that flow. Flow ids are unique per agent only (engine start second +
     * counter): two agents started in the same second share them, so without it the seed could
     * take another agent's row, e.g. the far side of a NAT hop, as the seed itself. Required with
     * `flowId`.
     */
    agentId: zUuid.optional(),
    /** How far outside the range to look for hops, µs (default 1 h). */
    slackUs: z.number().int().min(0).max(86_400_000_000).default(3_600_000_000),
  })
  .refine(...rangeIsOrdered)
  .refine((p) => p.traceId || p.xRequestId || p.flowId, "a trace id, X-Request-ID or flow id is needed")
  .refine((p) => !p.flowId || p.agentId, "a flow id needs its agent id (flow ids are unique per agent only)");
export type TTraceParams = z.input<typeof ZTraceParams>;

export type TraceLink = "seed" | "trace_id" | "x_request_id" | "tcp_seq";
export interface TraceSpan {
  key: string;
  row: TL7FlowLogRow;
  linkedBy: TraceLink;
  /** Index of the parent span in `spans`, or -1. */
  parent: number;
  depth: number;
  /** Index of the same call seen by another agent (matched by TCP sequence), or -1. */
  peer: number;
  inRange: boolean;
}
export type TraceBreakKind = "no_trace_key" | "missing_hop" | "outside_range" | "one_side_only";
export interface TraceBreak {
  span: number;
  kind: TraceBreakKind;
  message: string;
}

const spanKey = (r: TL7FlowLogRow) => `${r.agent_id}/${r.flow_id}/${r.req_tcp_seq}/${r.start_time}`;

export async function assembleTrace(
  client: ClickHouseClient,
  input: TTraceParams,
): Promise<{ spans: TraceSpan[]; breaks: TraceBreak[] }> {
  const p = ZTraceParams.parse(input);
  const wide = { from: Math.max(0, p.from - p.slackUs), to: p.to + p.slackUs };
  const found = new Map<string, { row: TL7FlowLogRow; linkedBy: TraceLink }>();
  const select = `SELECT ${selectWireColumns(L7FlowLog, "l.")} FROM l7_flow_log AS l
    WHERE l.org_id = {org_id:UUID}
      AND l.start_time >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')
      AND l.start_time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')`;
  const run = async (cond: string, params: Record<string, unknown>, linkedBy: TraceLink) => {
    const raw = await orgQuery<Record<string, unknown>>(
      client,
      p.orgId,
      `${select} AND (${cond}) LIMIT 2000`,
      {
        ...wide,
        ...params,
      },
    );
    let added = 0;
    for (const r of raw) {
      const row = decodeRow(L7FlowLog, r);
      const k = spanKey(row);
      if (!found.has(k)) {
        found.set(k, { row, linkedBy });
        added++;
      }
    }
    return added;
  };
  if (p.flowId) {
    await run(
      (p.reqTcpSeq !== undefined
        ? "l.flow_id = {fid:UInt64} AND l.req_tcp_seq = {rseq:UInt32}"
        : "l.flow_id = {fid:UInt64}") + " AND l.agent_id = {aid:UUID}",
      { fid: p.flowId, rseq: p.reqTcpSeq ?? 0, aid: p.agentId },
      "seed",
    );
  }
  if (p.traceId) await run("l.trace_id = {tid:String}", { tid: p.traceId }, "seed");
  if (p.xRequestId) await run("l.x_request_id = {xid:String}", { xid: p.xRequestId }, "seed");
  // Expand by every key the spans found so far carry, until nothing new turns up.
  const seenTrace = new Set<string>();
  const seenXrid = new Set<string>();
  const seenSeq = new Set<string>();
  for (let round = 0; round < 4; round++) {
    const rows = [...found.values()].map((f) => f.row);
    const traces = [...new Set(rows.map((r) => r.trace_id).filter((t) => t && !seenTrace.has(t)))];
    const xrids = [...new Set(rows.map((r) => r.x_request_id).filter((t) => t && !seenXrid.has(t)))];
    const seqs = rows
      .filter((r) => r.req_tcp_seq !== 0 && r.resp_tcp_seq !== 0)
      .map((r) => `${r.req_tcp_seq}/${r.resp_tcp_seq}`)
      .filter((s) => !seenSeq.has(s));
    for (const t of traces) seenTrace.add(t);
    for (const x of xrids) seenXrid.add(x);
    for (const s of seqs) seenSeq.add(s);
    let added = 0;
    if (traces.length)
      added += await run("l.trace_id IN {tids:Array(String)}", { tids: traces.slice(0, 200) }, "trace_id");
    if (xrids.length)
      added += await run(
        "l.x_request_id IN {xids:Array(String)}",
        { xids: xrids.slice(0, 200) },
        "x_request_id",
      );
    if (seqs.length) {
      const pairs = [...new Set(seqs)].slice(0, 200).map((s) => s.split("/").map(Number));
      added += await run(
        "has(arrayZip({rq:Array(UInt32)}, {rs:Array(UInt32)}), tuple(l.req_tcp_seq, l.resp_tcp_seq))",
        { rq: pairs.map((x) => x[0]), rs: pairs.map((x) => x[1]) },
        "tcp_seq",
      );
    }
    if (added === 0) break;
  }
  const list = [...found.values()].sort((a, b) => a.row.start_time - b.row.start_time);
  const spans: TraceSpan[] = list.map((f) => ({
    key: spanKey(f.row),
    row: f.row,
    linkedBy: f.linkedBy,
    parent: -1,
    depth: 0,
    peer: -1,
    inRange: f.row.start_time >= p.from && f.row.start_time < p.to,
  }));
  const bySpanId = new Map<string, number>();
  spans.forEach((s, i) => {
    if (s.row.span_id && !bySpanId.has(s.row.span_id)) bySpanId.set(s.row.span_id, i);
  });
  const bySeq = new Map<string, number[]>();
  spans.forEach((s, i) => {
    if (s.row.req_tcp_seq === 0 || s.row.resp_tcp_seq === 0) return;
    const k = `${s.row.req_tcp_seq}/${s.row.resp_tcp_seq}`;
    bySeq.set(k, [...(bySeq.get(k) ?? []), i]);
  });
  const breaks: TraceBreak[] = [];
  spans.forEach((s, i) => {
    const same = bySeq.get(`${s.row.req_tcp_seq}/${s.row.resp_tcp_seq}`) ?? [];
    const other = same.find((j) => j !== i && spans[j]?.row.agent_id !== s.row.agent_id);
    if (other !== undefined) {
      s.peer = other;
      // The later-starting observation of one call (server side) hangs under the earlier one.
      if (other < i) s.parent = other;
    }
    if (s.parent === -1 && s.row.parent_span_id) {
      const parent = bySpanId.get(s.row.parent_span_id);
      if (parent !== undefined && parent !== i) s.parent = parent;
      else
        breaks.push({
          span: i,
          kind: "missing_hop",
          message: `parent span ${s.row.parent_span_id} was not seen by any agent: the hop calling ${s.row.endpoint || s.row.request_resource || "this service"} has no agent`,
        });
    }
    if (!s.row.trace_id && !s.row.x_request_id && s.linkedBy !== "seed") {
      breaks.push({
        span: i,
        kind: "no_trace_key",
        message: "no trace id or X-Request-ID: joined only by TCP sequence to the same call on another agent",
      });
    } else if (!s.row.trace_id && !s.row.x_request_id && s.peer === -1 && spans.length === 1) {
      breaks.push({
        span: i,
        kind: "no_trace_key",
        message: "the request carries no trace id or X-Request-ID, and no other agent saw the same call",
      });
    }
    if (!s.inRange) {
      breaks.push({
        span: i,
        kind: "outside_range",
        message: `starts ${s.row.start_time < p.from ? "before" : "after"} the selected time range; widen it to see this call in the other pages`,
      });
    }
  });
  // Depth after parents are set (parents always start earlier or are the seq peer).
  const depth = (i: number, guard = 0): number => {
    const s = spans[i] as TraceSpan;
    if (s.parent === -1 || guard > 64) return 0;
    return depth(s.parent, guard + 1) + 1;
  };
  spans.forEach((s, i) => {
    s.depth = depth(i);
  });
  return { spans, breaks };
}
