/**
 * Test-only driver: reads a capture with the agent's readers and decoder, keys flows on the
 * 5-tuple, decides client/server like the engine (SYN sender, else SYN-ACK receiver, else the
 * side on the higher port, else the first sender) and feeds every payload to an L7 processor
 * exactly as the engine will (slot, direction, captured view, wire length, seq, time).
 */
import { readCaptureFile } from "../../src/capture/capture-file.ts";
import { decodeFrame } from "../../src/decode/packet.ts";
import { PacketMeta, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../../src/decode/packet-meta.ts";
import { ipText } from "../../src/flow/ip-text.ts";
import type { AppMetricsRow } from "../../src/l7/app-metrics.ts";
import { createL7Processor, type L7ProcessorOptions } from "../../src/l7/index.ts";
import type { L7Stats } from "../../src/l7/processor.ts";
import type { FlowMeta, L7Row } from "../../src/l7/types.ts";

interface DriverFlow {
  slot: number;
  meta: FlowMeta;
  /** Endpoint A (first seen source) is the client when 0. */
  clientIsA: boolean;
  aKey: string;
  closed: boolean;
}

export interface DriveResult {
  rows: L7Row[];
  metrics: AppMetricsRow[];
  stats: L7Stats;
  packets: number;
  payloadPackets: number;
}

export function driveCapture(path: string, opts: Partial<L7ProcessorOptions> = {}): DriveResult {
  const rows: L7Row[] = [];
  const metrics: AppMetricsRow[] = [];
  const flows = new Map<string, DriverFlow>();
  const bySlot: DriverFlow[] = [];
  const l7 = createL7Processor({
    ...opts,
    onL7: (r) => rows.push(r),
    onAppMetrics: (r) => metrics.push(r),
    describeFlow: (slot) => bySlot[slot]!.meta,
  });
  const m = new PacketMeta();
  let packets = 0;
  let payloadPackets = 0;
  let now = 0;
  let lastTick = 0;
  readCaptureFile(
    path,
    (linkType, buf, off, capLen, _wire, ts) => {
      packets++;
      now = ts;
      if (ts - lastTick >= 1_000_000) {
        l7.tick(ts);
        lastTick = ts;
      }
      if (decodeFrame(m, linkType, buf, off, capLen) !== 0) return;
      if ((m.proto !== 6 && m.proto !== 17) || m.laterFragment) return;
      const src = ipText(m.ipVersion, m.src0, m.src1, m.src2, m.src3);
      const dst = ipText(m.ipVersion, m.dst0, m.dst1, m.dst2, m.dst3);
      const sKey = `${src}|${m.srcPort}`;
      const dKey = `${dst}|${m.dstPort}`;
      const key = `${m.proto}|${sKey < dKey ? `${sKey}|${dKey}` : `${dKey}|${sKey}`}`;
      const fl = m.tcpFlags;
      const syn = m.proto === 6 && (fl & (TCP_SYN | TCP_ACK)) === TCP_SYN;
      let f = flows.get(key);
      if (f && syn && f.closed) {
        l7.onFlowEnd(f.slot, ts);
        flows.delete(key);
        f = undefined;
      }
      if (!f) {
        let clientIsSrc: boolean;
        if (m.proto === 6 && fl & TCP_SYN) clientIsSrc = (fl & TCP_ACK) === 0;
        else if (m.srcPort !== m.dstPort) clientIsSrc = m.srcPort > m.dstPort;
        else clientIsSrc = true;
        const slot = bySlot.length;
        f = {
          slot,
          aKey: sKey,
          clientIsA: clientIsSrc,
          closed: false,
          meta: {
            flowId: String(1000 + slot),
            clientIp: clientIsSrc ? src : dst,
            clientPort: clientIsSrc ? m.srcPort : m.dstPort,
            serverIp: clientIsSrc ? dst : src,
            serverPort: clientIsSrc ? m.dstPort : m.srcPort,
            ipProtocol: m.proto,
          },
        };
        bySlot.push(f);
        flows.set(key, f);
      }
      if (fl & (TCP_FIN | TCP_RST)) f.closed = true;
      if (m.payloadLen <= 0) return;
      const fromA = sKey === f.aKey;
      const dir = fromA === f.clientIsA ? 0 : 1;
      const capPay = Math.max(0, Math.min(m.payloadLen, off + capLen - m.payloadOffset));
      payloadPackets++;
      l7.onPayload(f.slot, dir, buf, m.payloadOffset, capPay, m.payloadLen, m.proto === 6 ? m.seq : 0, ts);
    },
    () => {},
  );
  l7.flush(now);
  return { rows, metrics, stats: l7.stats(), packets, payloadPackets };
}
