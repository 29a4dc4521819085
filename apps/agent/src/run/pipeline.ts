/**
 * The live pipeline shared by `run --interface` and `run --pcap`: packets → flow engine → rows
 * → exporter. A one-second wall-clock ticker drives flow expiry and per-second metrics when
 * packets are scarce (a quiet interface still closes its flows on time).
 */
import { createEngine, type EngineStats, type FlowTimeouts } from "../flow/flow-engine.ts";
import { createL7Processor } from "../l7/index.ts";
import type { NpbRuntime } from "../npb/runtime.ts";
import type { BatchingExporter } from "./exporter.ts";

export interface PipelineOptions {
  exporter: BatchingExporter;
  orgId?: string;
  agentId?: string;
  maxFlows?: number;
  vxlanPort?: number;
  /** L7 parsing on (default) or L4 only. */
  l7?: boolean;
  /** Wall-clock ticks (live, paced replay); off when packet times run ahead of the clock. */
  wallClockTicks?: boolean;
  /**
   * Packet broker: sees every frame right after the engine decoded it (`engine.meta`), and may
   * ask `l7Of()` for the L7 protocol the engine detected on that frame's flow ("" while unknown).
   */
  npb?: Pick<NpbRuntime, "onPacket">;
}

export interface Pipeline {
  packet(
    linkType: number,
    buf: Uint8Array,
    off: number,
    capLen: number,
    wireLen: number,
    tsMicros: number,
  ): void;
  readError(kind: string, offset: number): void;
  /**
   * The end of one pass over a looped capture: every open flow is reported and closed, so the
   * next pass (same 5-tuples, same TCP sequence numbers) makes new flows, not retransmissions.
   */
  endOfPass(): void;
  /** Reports every open flow and the last second of metrics, then flushes the exporter. */
  stop(): Promise<EngineStats>;
  stats(): EngineStats;
  /** Applies new flow timeouts (a controller configuration) to the running engine. */
  setTimeouts(t: Partial<FlowTimeouts>): void;
  setL7Enabled(on: boolean): void;
}

export function createPipeline(o: PipelineOptions): Pipeline {
  const engine = createEngine({
    orgId: o.orgId,
    agentId: o.agentId,
    maxFlows: o.maxFlows,
    vxlanPort: o.vxlanPort,
    onL4: (row) => o.exporter.push({ table: "l4_flow_log", row: row as unknown as Record<string, unknown> }),
    onNetworkMetrics: (row) =>
      o.exporter.push({ table: "network_metrics", row: row as unknown as Record<string, unknown> }),
    createL7: createL7Processor,
    l7:
      o.l7 === false
        ? undefined
        : {
            onL7: (row) =>
              o.exporter.push({ table: "l7_flow_log", row: row as unknown as Record<string, unknown> }),
            onAppMetrics: (row) =>
              o.exporter.push({
                table: "application_metrics",
                row: row as unknown as Record<string, unknown>,
              }),
          },
  });
  let ticker: NodeJS.Timeout | undefined;
  if (o.wallClockTicks !== false) {
    ticker = setInterval(() => engine.tick(Date.now() * 1000), 1000);
    ticker.unref();
  }
  // The L7 protocol of the flow slot the engine just used for the packet (no second lookup),
  // asked only for packets a policy with l7Protocols looks at. Later fragments carry no ports
  // and get "", like ports never match them.
  const l7Of = (): string => engine.packetL7Protocol();
  let stopped: Promise<EngineStats> | undefined;
  return {
    packet: (lt, buf, off, cap, wire, ts) => {
      engine.packet(lt, buf, off, cap, wire, ts);
      o.npb?.onPacket(engine.meta, lt, buf, off, cap, ts, l7Of);
    },
    readError: (kind, offset) => engine.decodeError(kind, offset),
    endOfPass: () => engine.flush(),
    stats: () => engine.stats(),
    setTimeouts: (t) => engine.setTimeouts(t),
    setL7Enabled: (on) => engine.setL7Enabled(on),
    stop() {
      stopped ??= (async () => {
        if (ticker) clearInterval(ticker);
        engine.flush();
        await o.exporter.flush();
        return engine.stats();
      })();
      return stopped;
    },
  };
}
