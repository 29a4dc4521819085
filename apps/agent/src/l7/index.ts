/**
 * L7: protocol parsing, request/response pairing, trace context and application metrics.
 *
 * ## How the flow engine calls it (the whole wiring, ~20 lines)
 * ```ts
 * const l7 = createL7Processor({
 *   orgId, agentId,
 *   onL7: (row) => l7Writer.write(row),              // l7_flow_log.jsonl
 *   onAppMetrics: (row) => appWriter.write(row),     // application_metrics.jsonl
 *   // Called ONCE per flow, at its first payload (never per packet):
 *   describeFlow: (f) => engine.describeFlow(f),     // {flowId, clientIp, clientPort, serverIp, serverPort, ipProtocol}
 * });
 * // In FlowEngine.update(), after account()/tcpPacket(), for any flow f with payload:
 * const capPay = Math.min(m.payloadLen, frameEnd - m.payloadOffset);   // captured payload bytes
 * if (m.payloadLen > 0 && capPay >= 0)
 *   l7.onPayload(f, dir === this.cdir[f] ? 0 : 1, buf, m.payloadOffset, capPay, m.payloadLen,
 *                m.proto === 6 ? m.seq : 0, this.now);
 * // Where a flow is closed or evicted (close()/emit of a final row), BEFORE table.remove(f):
 * l7.onFlowEnd(f, this.now);
 * // In tick(now) (about once per second of capture time):  l7.tick(now);
 * // In flush() at the end of input:                         l7.flush(this.now);
 * ```
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

export { APP_LATENCY_BUCKETS_US, type AppMetricsRow } from "./app-metrics.ts";
export { L7Processor, type L7ProcessorOptions, type L7Stats } from "./processor.ts";
export { PROTOCOL_NAMES } from "./protocols/registry.ts";
export { normalizeSql } from "./sql-normalize.ts";
export { DEFAULT_MASKED_HEADERS, type HeaderPolicyOptions } from "./trace-context.ts";
export type { FlowMeta, L7Row, ResponseStatus } from "./types.ts";

export function createL7Processor(opts: L7ProcessorOptions): L7Processor {
  return new L7Processor(opts);
}
