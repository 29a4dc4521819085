/**
 * The runner of the native-against-JS differential tests of DNS and Redis (dns-native-diff,
 * redis-native-diff): one processor, its rows as JSONL text from either path, over payloads in
 * time order, with the flows' ends, a tick a second and a final flush.
 */
import { createL7Processor, type L7Processor, type L7ProcessorOptions } from "../../src/l7/index.ts";
import type { FlowMeta } from "../../src/l7/types.ts";

export const T0 = 1_700_000_000_000_000;

/** A payload: a datagram, or a TCP segment (`seq`; `wire` when cut short by the snaplen). */
export interface Payload {
  slot: number;
  dir: 0 | 1;
  data: Uint8Array;
  ts: number;
  seq?: number;
  wire?: number;
}

export interface DiffOut {
  l7: string;
  am: string;
  stats: unknown;
  native: string;
}

export function diffRun(
  native: boolean,
  opts: Partial<L7ProcessorOptions>,
  metas: Map<number, FlowMeta>,
  ends: Map<number, number>,
  payloads: Payload[],
): DiffOut {
  const prev = process.env.FLOWPLANE_L7_NATIVE;
  process.env.FLOWPLANE_L7_NATIVE = native ? "1" : "0";
  try {
    let l7 = "";
    let am = "";
    const dec = new TextDecoder();
    const p: L7Processor = createL7Processor({
      ...opts,
      describeFlow: (slot) => metas.get(slot)!,
      onL7: (row) => {
        l7 += `${JSON.stringify(row)}\n`;
      },
      onAppMetrics: (row) => {
        am += `${JSON.stringify(row)}\n`;
      },
      rawRows: {
        l7: (b, len) => {
          l7 += dec.decode(b.subarray(0, len));
        },
        appMetrics: (b, len) => {
          am += dec.decode(b.subarray(0, len));
        },
      },
    });
    // Payloads are read from a reused block, scribbled over after each call.
    const blk = new Uint8Array(4096);
    let lastTick = T0;
    let now = T0;
    const ended = new Set<number>();
    const pendingEnds = [...ends.entries()].sort((a, b) => a[1] - b[1]);
    for (const d of payloads) {
      while (pendingEnds.length > 0 && pendingEnds[0]![1] <= d.ts) {
        const [slot, at] = pendingEnds.shift()!;
        p.onFlowEnd(slot, at);
        ended.add(slot);
      }
      if (ended.has(d.slot)) continue;
      now = Math.max(now, d.ts);
      if (now - lastTick >= 1_000_000) {
        p.tick(now);
        lastTick = now;
      }
      const off = 100 + (d.data.length & 7);
      blk.set(d.data, off);
      p.onPayload(d.slot, d.dir, blk, off, d.data.length, d.wire ?? d.data.length, d.seq ?? 0, d.ts);
      blk.fill(0x5a);
    }
    p.flush(now);
    return { l7, am, stats: p.stats(), native: p.nativeKind };
  } finally {
    if (prev === undefined) delete process.env.FLOWPLANE_L7_NATIVE;
    else process.env.FLOWPLANE_L7_NATIVE = prev;
  }
}

/** The first differing line of two JSONL texts, for a failure's message. */
export function firstDiff(a: string, b: string): string {
  const x = a.split("\n");
  const y = b.split("\n");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i}:\n  js     ${x[i]}\n  native ${y[i]}`;
  }
  return "";
}
