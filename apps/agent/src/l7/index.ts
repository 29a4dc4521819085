/**
 * L7: protocol parsing, request/response pairing, trace context and application metrics.
 *
 * ## How the flow engine calls it (the whole wiring, ~20 lines)
 * ```ts
 * // FlowEngine constructor (opts gain l7?: L7ProcessorOptions minus describeFlow):
 * this.l7 = opts.l7 ? createL7Processor({ ...opts.l7, orgId, agentId,
 *   describeFlow: (f) => this.describeFlow(f),   // called once per flow kept in JS, first payload
 *   flowKey: (f, k) => this.flowKey(f, k) }) : null;   // the same as numbers, for native flows
 * // describeFlow(f): { flowId: <the L4 row's flow_id>, clientIp, clientPort, serverIp,
 * //   serverPort, ipProtocol } — the same client/server choice emit() makes (cdir).
 * // packet(): remember the frame before afterDecode():
 * this.frameBuf = buf; this.frameEnd = off + capLen;
 * // update(), after account()/tcpPacket(), for packets that carry payload (onPacket takes the
 * // TCP/UDP payload of a first or only fragment as onPayload would, without that call):
 * if (m.payloadLen > 0 && this.l7On)
 *   this.l7.onPacket(f, dir === this.cdir[f] ? 0 : 1, m, this.frameBuf, this.frameEnd, this.now);
 * // close(f), before table.remove(f) (every removal goes through it; NOT on minute reports):
 * //   row.l7_protocol = this.l7.protocolOf(f) (in emit), then this.l7?.onFlowEnd(f, this.now);
 * // tick(now): this.l7?.tick(now);      flush(): after closing flows, this.l7?.flush(this.now);
 * ```
 * analyze: `onL7` → JsonlWriter(`l7_flow_log.jsonl${sfx}`), `onAppMetrics` →
 * JsonlWriter(`application_metrics.jsonl${sfx}`), one processor per engine (per shard worker).
 * The multi-worker dispatcher path (`decoded()`) carries no payload bytes: workers need the
 * frame (or the payload slice) forwarded for L7.
 *
 * `flowSlot` is the engine's table index: the processor keys its state on it and drops it at
 * `onFlowEnd`, so a reused slot never inherits state. Payload views are read during the call
 * only; what must outlive it (incomplete messages) is copied into bounded per-direction buffers.
 * Retransmitted bytes (seq below what was seen) are dropped here, so passing every segment is
 * right; `wireLen > len` (snaplen-cut) counts as lost bytes. `tcpSeq` may be a signed int32.
 * The L4 row's `l7_protocol` can come from `l7.protocolOf(f)` before `onFlowEnd`.
 *
 * Only flows with payload are touched; detection runs on the first payload bytes of a flow
 * (ports only order the candidates) for up to 4 segments, then the flow is marked unknown and
 * never looked at again; a flow whose parser keeps failing is marked failed the same way.
 *
 * Rows: see `L7Row` (./types.ts) and `AppMetricsRow` (./app-metrics.ts).
 */
import { L7Processor, type L7ProcessorOptions } from "./processor.ts";
import { warmUpL7Once } from "./warm-up.ts";

export { APP_LATENCY_BUCKETS_US, type AppMetricsRow } from "./app-metrics.ts";
export { type L7CaptureReads, L7Processor, type L7ProcessorOptions, type L7Stats } from "./processor.ts";
export { PROTOCOL_NAMES } from "./protocols/registry.ts";
export { normalizeSql } from "./sql-normalize.ts";
export { DEFAULT_MASKED_HEADERS, type HeaderPolicyOptions } from "./trace-context.ts";
export type { FlowMeta, L7Row, ResponseStatus } from "./types.ts";

export function createL7Processor(opts: L7ProcessorOptions): L7Processor {
  const p = new L7Processor(opts);
  // With the native row path on, the HTTP/1 and DNS exchanges the warm-up plays are parsed in
  // C: its JS paths would not run (7 ms of an analysis, spent on code it never calls).
  if (p.nativeKind === "native") return p;
  // Once per process: the hot paths meet every kind of message before V8 optimizes them, in
  // a processor of the same options whose rows go nowhere (see warm-up.ts).
  warmUpL7Once(
    (describeFlow) =>
      new L7Processor({
        ...opts,
        describeFlow,
        onL7: undefined,
        onAppMetrics: undefined,
        rawRows: undefined,
      }),
  );
  return p;
}
