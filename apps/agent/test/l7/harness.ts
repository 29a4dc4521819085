/** Feeds hand-built byte streams to a processor as one TCP (or UDP) flow, tracking sequence numbers. */

import type { AppMetricsRow } from "../../src/l7/app-metrics.ts";
import { createL7Processor, type L7ProcessorOptions } from "../../src/l7/index.ts";
import type { L7Processor } from "../../src/l7/processor.ts";
import type { L7Row } from "../../src/l7/types.ts";

export interface Harness {
  l7: L7Processor;
  rows: L7Row[];
  metrics: AppMetricsRow[];
  /** Sends bytes client→server (dir 0) or server→client (dir 1); returns the seq used. */
  send(dir: 0 | 1, data: Uint8Array | string, opts?: { ts?: number; seq?: number; slot?: number }): number;
  now: number;
}

export function harness(
  opts: Partial<L7ProcessorOptions> & { serverPort?: number; udp?: boolean } = {},
): Harness {
  const rows: L7Row[] = [];
  const metrics: AppMetricsRow[] = [];
  const l7 = createL7Processor({
    ...opts,
    onL7: (r) => rows.push(r),
    onAppMetrics: (r) => metrics.push(r),
    describeFlow: (slot) => ({
      flowId: String(7000 + slot),
      clientIp: "10.0.0.1",
      clientPort: 40000 + slot,
      serverIp: "10.0.0.2",
      serverPort: opts.serverPort ?? 12345,
      ipProtocol: opts.udp ? 17 : 6,
    }),
  });
  const next = new Map<string, number>();
  const h: Harness = {
    l7,
    rows,
    metrics,
    now: 1_700_000_000_000_000,
    send(dir, data, o = {}) {
      const b = typeof data === "string" ? Buffer.from(data, "latin1") : data;
      const slot = o.slot ?? 0;
      const k = `${slot}/${dir}`;
      const seq = o.seq ?? next.get(k) ?? (dir === 0 ? 1000 : 900_000);
      next.set(k, (seq + b.length) | 0);
      h.now = o.ts ?? h.now + 1000;
      // Pad the view so parsers cannot rely on the buffer ending with the payload.
      const padded = new Uint8Array(b.length + 16);
      padded.set(b, 8);
      l7.onPayload(slot, dir, padded, 8, b.length, b.length, opts.udp ? 0 : seq, h.now);
      return seq;
    },
  };
  return h;
}

/** Payloads as tests write them: hex text (spaces allowed), big-endian 16- and 32-bit fields. */
export const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
export function be16(n: number) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
export function be32(n: number) {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
