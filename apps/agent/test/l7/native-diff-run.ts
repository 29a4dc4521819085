/**
 * The runner of the native-against-JS differential tests of DNS, Redis and PostgreSQL
 * (dns-native-diff, redis-native-diff, pg-native-diff): one processor, its rows as JSONL text
 * from either path, over payloads in time order, with the flows' ends, a tick a second and a
 * final flush; and what their TCP traffic generators share.
 */
import { keyFromMeta } from "../../src/l7/flow-key.ts";
import { createL7Processor, type L7Processor, type L7ProcessorOptions } from "../../src/l7/index.ts";
import type { FlowMeta } from "../../src/l7/types.ts";
import { Rng } from "../../src/testing/rng.ts";

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
      // As the engine gives them: flows detected at their first payload go to the native path
      // without a FlowL7 (the processor's openNative), later ones through their FlowMeta.
      flowKey: (slot, k) => keyFromMeta(metas.get(slot)!, k),
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

/** A generated TCP flow's two byte streams, and where each message ends and when it was sent. */
export class TcpStreams {
  readonly streams: number[][] = [[], []];
  readonly sent: { end: number; at: number }[][] = [[], []];
  constructor(public t: number) {}

  /** Message `m` sent at the current time `t` in direction `dir`. */
  add(dir: 0 | 1, m: number[]): void {
    if (m.length === 0) return;
    this.streams[dir]!.push(...m);
    this.sent[dir]!.push({ end: this.streams[dir]!.length, at: this.t });
  }

  /**
   * `count` exchanges from the client (direction `cdir`), now and then after a long pause: a
   * request, or 2 to `maxPipelined` pipelined ones (probability `pipelinedP`), then their
   * answers, now and then one fewer or one more.
   */
  exchanges(
    r: Rng,
    cdir: 0 | 1,
    count: number,
    pipelinedP: number,
    maxPipelined: number,
    request: () => number[],
    answer: () => number[],
  ): void {
    for (let i = 0; i < count; i++) {
      this.t += r.chance(0.08) ? r.range(1_000_000, 40_000_000) : r.range(20, 150_000);
      const pipelined = r.chance(pipelinedP) ? r.range(2, maxPipelined) : 1;
      for (let k = 0; k < pipelined; k++) this.add(cdir, request());
      this.t += r.range(10, 5000);
      const answers = r.chance(0.1) ? pipelined - 1 : pipelined + (r.chance(0.05) ? 1 : 0);
      for (let k = 0; k < answers; k++) this.add((cdir ^ 1) as 0 | 1, answer());
    }
  }
}

/**
 * A TCP flow's metadata (client 10.1.0.1 or 2001:db8::1 on `clientPort`), seen the other way
 * round (the server's side as dir 0) with probability `reversedP`; `cdir` is the client's
 * direction.
 */
export function tcpFlow(
  r: Rng,
  reversedP: number,
  serverIps: readonly string[],
  serverPorts: readonly number[],
  clientPort: number,
  flowId: string,
): { meta: FlowMeta; reversed: boolean; cdir: 0 | 1 } {
  const reversed = r.chance(reversedP);
  const server = { ip: r.pick(serverIps), port: r.pick(serverPorts) };
  const client = { ip: server.ip.includes(":") ? "2001:db8::1" : "10.1.0.1", port: clientPort };
  const [a, b] = reversed ? [server, client] : [client, server];
  const meta = {
    flowId,
    clientIp: a.ip,
    clientPort: a.port,
    serverIp: b.ip,
    serverPort: b.port,
    ipProtocol: 6,
  };
  return { meta, reversed, cdir: reversed ? 1 : 0 };
}

/**
 * Cuts a byte stream into segments of random sizes, each with its sequence number; the first
 * `whole` messages (ending at `ends`, each at most 1400 bytes) a segment each, as clients send a
 * startup (detection may look for one whole message in a segment).
 */
export function cutStream(
  r: Rng,
  s: number[],
  seq0: number,
  ends: number[] = [],
  whole = 0,
): { data: number[]; seq: number }[] {
  const out: { data: number[]; seq: number }[] = [];
  let i = 0;
  for (let k = 0; k < whole && k < ends.length && ends[k]! - i <= 1400; k++) {
    out.push({ data: s.slice(i, ends[k]), seq: (seq0 + i) | 0 });
    i = ends[k]!;
  }
  while (i < s.length) {
    const n = r.chance(0.3) ? r.range(1, 12) : r.range(20, 1400);
    out.push({ data: s.slice(i, i + n), seq: (seq0 + i) | 0 });
    i += n;
  }
  return out;
}

/** How a flow's streams become segments: where they start, how they are cut, what goes wrong. */
export interface Segmenting {
  seq0(r: Rng): number;
  cut(r: Rng, s: number[], seq0: number, ends: number[]): { data: number[]; seq: number }[];
  lost: number;
  snaplenCut: number;
  repeated: number;
}

/**
 * A seeded capture of `flows` TCP flows made by `flow` (slot f + 1), in segments, 40 % of the
 * flows ended within 5 s of their last message, in time order.
 */
export function tcpTraffic(
  seed: number,
  flows: number,
  how: Segmenting,
  flow: (r: Rng, f: number) => { meta: FlowMeta; st: TcpStreams },
): { segs: Payload[]; metas: Map<number, FlowMeta>; ends: Map<number, number> } {
  const r = new Rng(seed);
  const segs: Payload[] = [];
  const metas = new Map<number, FlowMeta>();
  const ends = new Map<number, number>();
  for (let f = 0; f < flows; f++) {
    const slot = f + 1;
    const { meta, st } = flow(r, f);
    metas.set(slot, meta);
    segmentsOf(r, slot, st, how, segs);
    if (r.chance(0.4)) ends.set(slot, st.t + r.range(0, 5_000_000));
  }
  timeOrder(r, segs);
  return { segs, metas, ends };
}

/**
 * Each direction's stream in segments, each sent when the message of its last byte was (plus up
 * to 50 µs), some lost, cut short by the snaplen or sent twice, pushed onto `segs`.
 */
export function segmentsOf(r: Rng, slot: number, f: TcpStreams, how: Segmenting, segs: Payload[]): void {
  for (const dir of [0, 1] as const) {
    const stream = f.streams[dir]!;
    const sent = f.sent[dir]!;
    if (stream.length === 0) continue;
    const seq0 = how.seq0(r);
    let off = 0;
    let m = 0;
    for (const piece of how.cut(
      r,
      stream,
      seq0,
      sent.map((x) => x.end),
    )) {
      off += piece.data.length;
      while (m < sent.length - 1 && sent[m]!.end < off) m++;
      const at = sent[m]!.at + r.int(50);
      let data = Uint8Array.from(piece.data);
      const wire = data.length;
      if (r.chance(how.lost)) continue;
      if (r.chance(how.snaplenCut)) data = data.subarray(0, r.int(data.length));
      segs.push({ slot, dir, data, wire, seq: piece.seq, ts: at });
      if (r.chance(how.repeated)) segs.push({ slot, dir, data, wire, seq: piece.seq, ts: at + 1 });
    }
  }
}

/** In time order, with now and then two neighbours of one flow swapped (out of order). */
export function timeOrder(r: Rng, segs: Payload[]): void {
  segs.sort((x, y) => x.ts - y.ts);
  for (let i = 1; i < segs.length; i++) {
    if (r.chance(0.02) && segs[i]!.slot === segs[i - 1]!.slot) {
      const tmp = segs[i]!;
      segs[i] = segs[i - 1]!;
      segs[i - 1] = tmp;
    }
  }
}
