/**
 * TCP per-flow state: the connection state machine and the sequence analysis that decides
 * retransmissions, out-of-order segments and zero windows the way tshark's
 * `tcp_analyze_sequence_number` (packet-tcp.c, 4.0) does, so counts agree with
 * `tcp.analysis.retransmission`:
 * - a segment carrying data (or SYN/FIN) whose seq is below the highest next-seq seen in its
 *   direction is a fast retransmission (≥ 2 dup ACKs the other way, seq = their ACK, < 20 ms),
 *   else out-of-order (within the first handshake RTT, default 3 ms, of the highest segment and
 *   not an exact copy of it), else a retransmission; a segment entirely below what the other
 *   side already ACKed is a (spurious) retransmission even when it advances next-seq;
 * - keep-alives (0/1 byte at next-seq − 1) and zero-window probes are neither;
 * - tshark counts fast and spurious retransmissions under `tcp.analysis.retransmission` too.
 * Per-direction arrays are indexed `flow * 2 + dir` (dir 0 = from endpoint A).
 */
import { type PacketMeta, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../decode/packet-meta.ts";

export const TcpState = {
  none: 0,
  synSent: 1,
  synReceived: 2,
  established: 3,
  closing: 4,
  closedFin: 5,
  closedRst: 6,
} as const;

export const SeqVerdict = { none: 0, retransmission: 1, outOfOrder: 2 } as const;

/**
 * Literal copies of the TCP flags and of TcpState / SeqVerdict for analyze and transition (per
 * packet): esbuild writes same-file enum members as literals, while V8 loads a module-level or
 * imported constant at run time even in optimized code. Checked against them at load.
 */
enum Flag {
  FIN = 0x01,
  SYN = 0x02,
  RST = 0x04,
  ACK = 0x10,
}
enum St {
  NONE = 0,
  SYN_SENT = 1,
  SYN_RECEIVED = 2,
  ESTABLISHED = 3,
  CLOSING = 4,
  CLOSED_FIN = 5,
  CLOSED_RST = 6,
}
enum Verdict {
  NONE = 0,
  RETRANSMISSION = 1,
  OUT_OF_ORDER = 2,
}
if (
  Flag.FIN !== TCP_FIN ||
  Flag.SYN !== TCP_SYN ||
  Flag.RST !== TCP_RST ||
  Flag.ACK !== TCP_ACK ||
  St.NONE !== TcpState.none ||
  St.SYN_SENT !== TcpState.synSent ||
  St.SYN_RECEIVED !== TcpState.synReceived ||
  St.ESTABLISHED !== TcpState.established ||
  St.CLOSING !== TcpState.closing ||
  St.CLOSED_FIN !== TcpState.closedFin ||
  St.CLOSED_RST !== TcpState.closedRst ||
  Verdict.NONE !== SeqVerdict.none ||
  Verdict.RETRANSMISSION !== SeqVerdict.retransmission ||
  Verdict.OUT_OF_ORDER !== SeqVerdict.outOfOrder
) {
  throw new Error("tcp-state: literal constants out of step with their sources");
}

type TcpArray = Uint8Array | Int32Array | Uint32Array | Float64Array;

function grown<T extends TcpArray>(old: T, fresh: T): T {
  (fresh as Uint8Array).set(old as Uint8Array);
  return fresh;
}

export class TcpTracker {
  state: Uint8Array = new Uint8Array(0);
  finSeen: Uint8Array = new Uint8Array(0); // per direction
  nextseq: Int32Array = new Int32Array(0);
  nsSet: Uint8Array = new Uint8Array(0);
  nextseqTime: Float64Array = new Float64Array(0);
  lastack: Int32Array = new Int32Array(0);
  laSet: Uint8Array = new Uint8Array(0);
  lastackTime: Float64Array = new Float64Array(0);
  window: Int32Array = new Int32Array(0);
  dupacks: Uint32Array = new Uint32Array(0);
  synIsn: Int32Array = new Int32Array(0);
  synSeen: Uint8Array = new Uint8Array(0);
  /** First handshake RTT (SYN → ACK), µs; 0 = unknown (tshark then uses 3 ms). */
  firstRtt: Float64Array = new Float64Array(0);
  /** Packet time (µs), set by the engine: a double field instead of a boxed argument. */
  now = 0;

  constructor(slots: number) {
    this.resize(slots);
  }

  /** Arrays for n flows (growing with the flow table), contents kept. */
  resize(n: number): void {
    this.state = grown(this.state, new Uint8Array(n));
    this.finSeen = grown(this.finSeen, new Uint8Array(n * 2));
    this.nextseq = grown(this.nextseq, new Int32Array(n * 2));
    this.nsSet = grown(this.nsSet, new Uint8Array(n * 2));
    this.nextseqTime = grown(this.nextseqTime, new Float64Array(n * 2));
    this.lastack = grown(this.lastack, new Int32Array(n * 2));
    this.laSet = grown(this.laSet, new Uint8Array(n * 2));
    this.lastackTime = grown(this.lastackTime, new Float64Array(n * 2));
    this.window = grown(this.window, new Int32Array(n * 2));
    this.dupacks = grown(this.dupacks, new Uint32Array(n * 2));
    this.synIsn = grown(this.synIsn, new Int32Array(n * 2));
    this.synSeen = grown(this.synSeen, new Uint8Array(n * 2));
    this.firstRtt = grown(this.firstRtt, new Float64Array(n));
  }

  reset(f: number): void {
    this.state[f] = TcpState.none;
    this.firstRtt[f] = 0;
    for (let d = f * 2; d < f * 2 + 2; d++) {
      this.finSeen[d] = 0;
      this.nsSet[d] = 0;
      this.laSet[d] = 0;
      this.window[d] = -1;
      this.dupacks[d] = 0;
      this.synSeen[d] = 0;
    }
  }

  /**
   * Sequence analysis of the segment in `m` (flags, seq, ack, window, payload length), from
   * direction `dir` of flow `f`; returns a SeqVerdict.
   * Updates next-seq, last ACK, window and dup-ACK counters as tshark does. Sequence numbers
   * compare as `((a - b) | 0) < 0` (a before b), written out: a module-level helper is
   * loaded and checked at run time per call even in optimized code.
   */
  analyze(f: number, dir: number, m: PacketMeta): number {
    // Read from the packet record rather than passed: 4 arguments fewer to pass and check.
    // Arrays used more than once are read into locals, and the rare classification is in
    // `verdictOf`: this keeps analyze under V8's inlining limit (460 bytecode bytes), so it is
    // inlined into the engine's tcpPacket instead of called for every TCP segment.
    const flags = m.tcpFlags;
    const seq = m.seq;
    const seglen = m.payloadLen;
    const fwd = f * 2 + dir;
    const rev = f * 2 + (dir ^ 1);
    const dupacks = this.dupacks;
    const ns = this.nextseq[fwd]!;
    const nsSet = this.nsSet[fwd]!;
    const ctl = flags & (Flag.SYN | Flag.FIN | Flag.RST);
    const zwp = seglen === 1 && nsSet !== 0 && seq === ns && this.window[rev] === 0;
    const keepalive = !zwp && seglen <= 1 && nsSet !== 0 && seq === ((ns - 1) | 0) && ctl === 0;
    const dupack = !zwp && seglen === 0 && ctl === 0 && nsSet !== 0 && seq === ns && this.sameAck(fwd, m);
    dupacks[fwd] = dupack ? dupacks[fwd]! + 1 : 0;

    const synFin = (flags & (Flag.SYN | Flag.FIN)) !== 0;
    const end = (seq + seglen) | 0;
    let verdict: number = Verdict.NONE;
    // Only a segment below next-seq, or one the other side already ACKed, can be anything but
    // in order.
    if (
      (seglen > 0 || synFin) &&
      !keepalive &&
      ((nsSet === 1 && ((seq - ns) | 0) < 0) ||
        (seglen > 0 && this.laSet[rev] !== 0 && ((end - this.lastack[rev]!) | 0) <= 0))
    ) {
      verdict = this.verdictOf(f, dir, m, ns, nsSet);
    }

    const nxt = synFin ? (end + 1) | 0 : end;
    if ((nsSet === 0 || ((nxt - ns) | 0) > 0) && !zwp) this.advance(fwd, nxt);
    this.acked(fwd, m);
    return verdict;
  }

  /** Direction `fwd`'s last window and ACK are the segment's. */
  private acked(fwd: number, m: PacketMeta): void {
    this.window[fwd] = m.window;
    this.lastack[fwd] = m.ack;
    this.laSet[fwd] = (m.tcpFlags & Flag.ACK) !== 0 ? 1 : 0;
    this.lastackTime[fwd] = this.now;
  }

  /** The segment in `m` repeats direction `fwd`'s last ACK and non-zero window. */
  private sameAck(fwd: number, m: PacketMeta): boolean {
    const win = m.window;
    return win !== 0 && win === this.window[fwd] && this.laSet[fwd] !== 0 && m.ack === this.lastack[fwd];
  }

  /** Direction `fwd` (flow * 2 + dir) sent up to `nxt`. */
  private advance(fwd: number, nxt: number): void {
    this.nextseq[fwd] = nxt;
    this.nsSet[fwd] = 1;
    this.nextseqTime[fwd] = this.now;
  }

  /** Retransmission or out-of-order, for a segment `analyze` found not simply in order. */
  private verdictOf(f: number, dir: number, m: PacketMeta, ns: number, nsSet: number): number {
    const flags = m.tcpFlags;
    const seq = m.seq;
    const seglen = m.payloadLen;
    const ts = this.now;
    const fwd = f * 2 + dir;
    const rev = f * 2 + (dir ^ 1);
    const end = (seq + seglen) | 0;
    const notAdvanced = nsSet === 1 && ((seq - ns) | 0) < 0;
    const rtt = this.firstRtt[f]!;
    if (
      notAdvanced &&
      this.dupacks[rev]! >= 2 &&
      this.laSet[rev] &&
      this.lastack[rev] === seq &&
      ts - this.lastackTime[rev]! < 20_000
    ) {
      return Verdict.RETRANSMISSION;
    }
    if (
      notAdvanced &&
      ts - this.nextseqTime[fwd]! < (rtt > 0 ? rtt : 3000) &&
      ns !== ((end + ((flags & (Flag.SYN | Flag.FIN)) !== 0 ? 1 : 0)) | 0)
    ) {
      // An exact copy of the highest segment (SYN/FIN counted) is a retransmission, not OOO.
      return Verdict.OUT_OF_ORDER;
    }
    if (seglen > 0 && this.laSet[rev] && ((end - this.lastack[rev]!) | 0) <= 0) return Verdict.RETRANSMISSION;
    if (notAdvanced) return Verdict.RETRANSMISSION;
    return Verdict.NONE;
  }

  /** Advances the connection state; returns the new state. */
  transition(f: number, dir: number, flags: number): number {
    let st = this.state[f]!;
    if (flags & Flag.RST) st = St.CLOSED_RST;
    else if (st === St.CLOSED_RST) {
      // stays closed until a new SYN opens a new flow
    } else if (flags & Flag.FIN) {
      this.finSeen[f * 2 + dir] = 1;
      st = this.finSeen[f * 2 + (dir ^ 1)] ? St.CLOSED_FIN : St.CLOSING;
    } else if (flags & Flag.SYN) {
      if (flags & Flag.ACK) {
        if (st < St.SYN_RECEIVED) st = St.SYN_RECEIVED;
      } else if (st === St.NONE) st = St.SYN_SENT;
    } else if (st === St.NONE || st === St.SYN_RECEIVED || (st === St.SYN_SENT && flags & Flag.ACK)) {
      st = St.ESTABLISHED;
    }
    this.state[f] = st;
    return st;
  }
}
