/**
 * Warm-up: a few hundred synthetic packets of every kind the hot path meets (TCP open, data,
 * retransmission, dup ACKs, zero window, keep-alive, out of order, FIN, RST, port reuse,
 * handshakes captured in part; UDP, ICMP, IPv6, VLAN, VXLAN, fragments, non-IP, a truncated
 * frame; per-second metrics, timeouts, a minute report) go once per process into a throw-away
 * engine.
 *
 * Why: V8 optimizes the hot functions after a few thousand packets with the type feedback seen
 * so far. On a real capture the first FIN, RST, UDP packet or hash collision comes later, meets
 * an operation without feedback and deoptimizes the function (9 engine deopts on the bench
 * capture, each followed by a stretch in the interpreter or baseline code and a recompile). Seeing every
 * path first gives the optimizing compiler complete feedback, so the first optimized code is
 * the last. V8 collects feedback for a function only once it has run a little (lazy feedback
 * allocation): with one pass 3 deopts were left, with two none on the engine. The packets stay
 * interpreted (too few to trigger optimization of the engine); the engine and its rows are
 * dropped, so no row or counter of a real engine changes. Cost: ~53 M instructions once
 * (~6 ms); with the record loop's fix it took 310 instructions a packet off the bench capture
 * (docs/benchmarks.md, "Hot path work, session 3").
 *
 * Not warmed here: the pcap reader (its handler call would see two handlers and stop being
 * inlined, see pcap-reader.ts for how it avoids the deopts instead). The JSONL writer warms
 * itself, with 40 small rows (output/jsonl-writer.ts); an earlier warm-up here, through the
 * engine's rows, cost 84 M instructions, more than the one deopt it saved then.
 */
import type { FlowEngine } from "./flow-engine.ts";

const T0 = 1_700_000_000_000_000;
const PASSES = 2;
const SYN = 0x02;
const FIN_ACK = 0x11;
const RST = 0x04;
const ACK = 0x10;
const PSH_ACK = 0x18;
const RST_ACK = 0x14;
const SYN_ACK = 0x12;

/** Big-endian stores (Buffer's write methods check more, and V8 then optimizes them here). */
function be16(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 8;
  b[p + 1] = v;
}
function be32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

/** Writes Ethernet frames one after the other into one Buffer, noting where each is. */
class FrameBuilder {
  b = Buffer.alloc(1 << 17);
  o = 0;
  /** Per frame: offset, captured length, time (µs). */
  readonly offs: number[] = [];
  readonly caps: number[] = [];
  readonly times: number[] = [];
  /** Start of the current frame. */
  private f = 0;
  private ts = 0;

  /** Starts a frame: MACs, optional VLAN tag, EtherType. Returns the L3 offset. */
  eth(ts: number, type: number, vlan = -1): number {
    this.ts = ts;
    this.f = this.o;
    let p = this.f;
    this.b.fill(0, p, p + 12);
    this.b[p + 5] = 1;
    this.b[p + 11] = 2;
    p += 12;
    if (vlan >= 0) {
      be16(this.b, p, 0x8100);
      be16(this.b, p + 2, vlan);
      p += 4;
    }
    be16(this.b, p, type);
    return p + 2;
  }

  /** IPv4 header at p, total length up to `end`. */
  ip4(p: number, proto: number, src: number, dst: number, frag = 0, id = 1): number {
    const b = this.b;
    b.fill(0, p, p + 20);
    b[p] = 0x45;
    be16(b, p + 4, id);
    be16(b, p + 6, frag);
    b[p + 8] = 64;
    b[p + 9] = proto;
    be32(b, p + 12, src | 0);
    be32(b, p + 16, dst | 0);
    return p + 20;
  }

  ip6(p: number, next: number, src: number, dst: number): number {
    const b = this.b;
    b.fill(0, p, p + 40);
    b[p] = 0x60;
    b[p + 6] = next;
    b[p + 7] = 64;
    be32(b, p + 8, 0x20010db8);
    be32(b, p + 20, src);
    be32(b, p + 24, 0x20010db8);
    be32(b, p + 36, dst);
    return p + 40;
  }

  /** TCP with the timestamp option Linux puts on every segment, then `len` payload bytes. */
  tcp(
    p: number,
    sp: number,
    dp: number,
    seq: number,
    ack: number,
    flags: number,
    len: number,
    win: number,
  ): number {
    const b = this.b;
    be16(b, p, sp);
    be16(b, p + 2, dp);
    be32(b, p + 4, seq | 0);
    be32(b, p + 8, ack | 0);
    b[p + 12] = 0x80;
    b[p + 13] = flags;
    be16(b, p + 14, win);
    b.fill(0, p + 16, p + 20);
    b.set([1, 1, 8, 10], p + 20);
    be32(b, p + 24, seq | 0);
    be32(b, p + 28, ack | 0);
    b.fill(0x41, p + 32, p + 32 + len);
    return p + 32 + len;
  }

  udp(p: number, sp: number, dp: number, len: number): number {
    be16(this.b, p, sp);
    be16(this.b, p + 2, dp);
    be16(this.b, p + 4, 8 + len);
    be16(this.b, p + 6, 0);
    this.b.fill(0x42, p + 8, p + 8 + len);
    return p + 8 + len;
  }

  /** Ends the frame at `end`: IP length fields from `l3`, record header. */
  end(l3: number, end: number, ipEnd = end): void {
    const b = this.b;
    if (b[l3]! >> 4 === 4) be16(b, l3 + 2, ipEnd - l3);
    else be16(b, l3 + 4, ipEnd - l3 - 40);
    this.record(end);
  }

  /** Ends the frame at `end` as it is. */
  record(end: number): void {
    this.offs.push(this.f);
    this.caps.push(end - this.f);
    this.times.push(this.ts);
    this.o = end;
  }
}

type End = "fin" | "client_rst" | "server_rst" | "open";

/** One TCP conversation from a (IPv4, or IPv6 when v6) to b; returns the time after it. */
function conversation(
  w: FrameBuilder,
  t: number,
  a: number,
  b: number,
  cp: number,
  sp: number,
  rounds: number,
  end: End,
  o: { v6?: boolean; vlan?: number; isn?: number; start?: Start } = {},
): number {
  let cs = o.isn ?? 1000;
  let ss = 5000;
  const seg = (fromClient: boolean, flags: number, len: number, win = 512) => {
    const l3 = w.eth(t, o.v6 ? 0x86dd : 0x0800, o.vlan ?? -1);
    const src = fromClient ? a : b;
    const dst = fromClient ? b : a;
    const l4 = o.v6 ? w.ip6(l3, 6, src, dst) : w.ip4(l3, 6, src, dst);
    const e = fromClient
      ? w.tcp(l4, cp, sp, cs, ss, flags, len, win)
      : w.tcp(l4, sp, cp, ss, cs, flags, len, win);
    w.end(l3, e);
    t += 37;
    const n = len + (flags & (SYN | 1) ? 1 : 0);
    if (fromClient) cs = (cs + n) | 0;
    else ss = (ss + n) | 0;
  };
  const start = o.start ?? "syn";
  if (start === "syn" || start === "syn-only") {
    seg(true, SYN, 0);
    cs--;
    seg(true, SYN, 0); // the SYN again
  } else if (start !== "synack") {
    // Picked up in the middle: data first, so the flow's client is a guess until a handshake
    // packet says (a SYN+ACK or a SYN, as `start` says).
    seg(true, PSH_ACK, 20);
    if (start === "mid-syn") {
      seg(true, SYN, 0);
      cs--;
    }
  }
  if (start !== "syn-only") seg(false, SYN_ACK, 0);
  seg(true, ACK, 0);
  for (let r = 0; r < rounds; r++) {
    seg(true, PSH_ACK, 40 + r);
    seg(false, PSH_ACK, 300);
    seg(true, ACK, 0);
    if (r === 1) {
      // The request again (retransmission), dup ACKs, a zero window, a keep-alive.
      cs = (cs - 41) | 0;
      seg(true, PSH_ACK, 41);
      seg(false, ACK, 0);
      seg(false, ACK, 0);
      seg(false, ACK, 0, 0);
      cs = (cs - 1) | 0;
      seg(true, ACK, 1);
    }
    if (r === 2) {
      // Two segments the wrong way round: out of order.
      cs = (cs + 10) | 0;
      seg(true, PSH_ACK, 10);
      cs = (cs - 20) | 0;
      seg(true, PSH_ACK, 10);
      cs = (cs + 10) | 0;
    }
  }
  if (end === "fin") {
    seg(true, FIN_ACK, 0);
    seg(false, FIN_ACK, 0);
    seg(true, ACK, 0);
    seg(true, ACK, 0);
  } else if (end === "client_rst") seg(true, RST_ACK, 0);
  else if (end === "server_rst") seg(false, RST, 0);
  return t;
}

/**
 * How a conversation begins: a SYN (twice) and the SYN+ACK; the SYN (twice) without its SYN+ACK;
 * a SYN+ACK (its SYN not captured); or data, then (as the engine's undecided flow meets it) a
 * SYN+ACK, or a SYN and then the SYN+ACK.
 */
type Start = "syn" | "syn-only" | "synack" | "mid-synack" | "mid-syn";

/** One pass of the scenario; `k` varies the addresses so passes never share flows. */
function scenario(w: FrameBuilder, t: number, k: number): number {
  const net = 0x0a000000 + (k << 16);
  const srv = net + 0x101;
  for (let i = 0; i < 3; i++) t = conversation(w, t, net + 1 + i, srv, 40000 + i, 80, 3, "fin");
  // Reused right after FIN and RST (a new flow each), and with another ISN while open.
  t = conversation(w, t, net + 1, srv, 40000, 80, 1, "client_rst");
  t = conversation(w, t, net + 1, srv, 40000, 80, 1, "server_rst");
  t = conversation(w, t, net + 1, srv, 40000, 80, 1, "open");
  t = conversation(w, t, net + 1, srv, 40000, 80, 1, "fin", { isn: 90000 });
  // Closed by RST and left to expire; left open until the end.
  t = conversation(w, t, net + 9, srv, 40015, 80, 1, "client_rst");
  t = conversation(w, t, net + 10, srv, 40016, 80, 1, "server_rst");
  t = conversation(w, t, net + 11, srv, 40017 + k, 80, 1, "open");
  // Handshakes only partly captured (web-1m's first such flows deoptimized newFlow, and
  // tcpPacket where it inlines the TCP state's transition).
  t = conversation(w, t, net + 12, srv, 40018, 80, 1, "fin", { start: "synack" });
  t = conversation(w, t, net + 13, srv, 40019, 80, 1, "fin", { start: "mid-synack" });
  t = conversation(w, t, net + 14, srv, 40020, 80, 1, "fin", { start: "mid-syn" });
  t = conversation(w, t, net + 15, srv, 40021, 80, 1, "fin", { start: "syn-only" });
  const open = t;
  t = conversation(w, t, net + 7, 0xc0a80001 + k, 40012, 3306, 2, "open");
  t = conversation(w, t, k + 1, k + 2, 40013, 443, 2, "fin", { v6: true });
  t = conversation(w, t, net + 8, srv, 40014, 8080, 2, "fin", { vlan: 10 + k });
  for (let i = 0; i < 4; i++) {
    const cp = 50000 + i;
    let l3 = w.eth(t, 0x0800);
    w.end(l3, w.udp(w.ip4(l3, 17, net + 1, net + 0x35), cp, 53, 30));
    l3 = w.eth(t + 50, 0x0800);
    w.end(l3, w.udp(w.ip4(l3, 17, net + 0x35, net + 1), 53, cp, 90));
    l3 = w.eth(t + 60, 0x0800);
    let p = w.ip4(l3, 1, net + 1, net + 2);
    w.b.set([8, 0, 0, 0, 0, 1, 0, i], p);
    w.end(l3, p + 8);
    l3 = w.eth(t + 70, 0x0800);
    p = w.ip4(l3, 1, net + 2, net + 1);
    w.b.set([0, 0, 0, 0, 0, 1, 0, i], p);
    w.end(l3, p + 8);
    l3 = w.eth(t + 80, 0x86dd);
    w.end(l3, w.udp(w.ip6(l3, 17, k + 3, k + 4), cp, 123, 48));
    t += 400_000;
  }
  // VXLAN around a UDP packet.
  let l3 = w.eth(t, 0x0800);
  let p = w.ip4(l3, 17, net + 1, net + 2);
  const vx = w.udp(p, 40000, 4789, 0);
  w.b.set([8, 0, 0, 0, 0, 0, 7, 0], vx);
  w.b.fill(0, vx + 8, vx + 20);
  be16(w.b, vx + 20, 0x0800);
  const il3 = vx + 22;
  const e = w.udp(w.ip4(il3, 17, net + 0x10001, net + 0x10002), 1234, 53, 4);
  be16(w.b, il3 + 2, e - il3);
  be16(w.b, p + 4, e - p);
  w.end(l3, e);
  // Fragments: a first fragment (UDP header), its later fragment, and an orphan later fragment.
  l3 = w.eth(t + 10, 0x0800);
  p = w.ip4(l3, 17, net + 1, net + 2, 0x2000, 77 + k);
  w.udp(p, 5000, 6000, 40);
  w.end(l3, p + 32);
  l3 = w.eth(t + 20, 0x0800);
  p = w.ip4(l3, 17, net + 1, net + 2, 4, 77 + k);
  w.end(l3, p + 16);
  l3 = w.eth(t + 30, 0x0800);
  p = w.ip4(l3, 17, net + 1, net + 3, 4, 78 + k);
  w.end(l3, p + 16);
  // Not IP (ARP), and an IPv4 header cut short.
  l3 = w.eth(t + 40, 0x0806);
  w.b.fill(0, l3, l3 + 28);
  w.record(l3 + 28);
  l3 = w.eth(t + 50, 0x0800);
  w.b.set([0x45, 0, 0, 40], l3);
  w.record(l3 + 4);
  // Time passes: per-second metrics, idle timeouts and a minute report of the open flow.
  t = Math.max(t + 1000, open + 61_000_000);
  return conversation(w, t, net + 7, 0xc0a80001 + k, 40012, 3306, 1, "fin");
}

let warmed = false;

/**
 * Runs the warm-up packets once per process through the engine `make` returns (a throw-away
 * instance; its rows and counters are never seen).
 */
export function warmUpOnce(make: () => FlowEngine): void {
  if (warmed) return;
  warmed = true;
  const engine = make();
  const w = new FrameBuilder();
  let t = T0;
  for (let k = 0; k < PASSES; k++) t = scenario(w, t, k) + 200_000_000;
  // Straight to the engine, not through the pcap reader: its call to the packet handler would
  // see two handlers (this one and the real one) and stop being inlined (a boxed timestamp per
  // packet). The reader keeps its rare paths out of its packet loop instead (pcap-reader.ts).
  for (let i = 0; i < w.offs.length; i++) {
    engine.packet(1, w.b, w.offs[i]!, w.caps[i]!, w.caps[i]!, w.times[i]!, w.offs[i]!);
  }
  engine.flush();
  engine.stats();
}
