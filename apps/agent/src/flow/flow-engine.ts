/**
 * The agent's L4 engine: decode → flow table → TCP analysis → per-second network metrics.
 *
 * API (driven by `analyze`, by the live `run` pipeline and by the bench):
 *
 *   const engine = createEngine({ onL4(row) {...}, onNetworkMetrics(row) {...}, ...opts });
 *   engine.packet(linkType, buf, offset, capLen, wireLen, tsMicros, fileOffset?);  // per packet
 *   engine.decoded(wireLen, tsMicros);  // instead of packet(): engine.meta already filled
 *                                       // (multi-worker records, see meta-record.ts)
 *   engine.tick(nowMicros);   // optional: advance time without packets (live capture idle)
 *   engine.flush();           // end of input: report every open flow and the last second
 *   engine.stats();           // counters (packets, flows, evictions, decode errors, ...)
 *
 * Rows are plain objects whose keys are the ClickHouse column names (`L4FlowRow`,
 * `NetworkMetricsRow`). Times are integer µs since the epoch, IPs text, `flow_id` a decimal
 * string of a 64-bit id: [32 bits engine start second][5 bits shard][27 bits counter].
 *
 * Timing is packet-driven: the clock is the newest packet timestamp, a tick runs at every
 * second boundary (metrics rows for the second that ended, expiry), and a minute boundary
 * reports every flow that carried packets in that minute (`close_type: forced_report`, counter
 * deltas since the previous report, same flow_id).
 *
 * Flows are keyed on the innermost 5-tuple only (no VLAN, no tunnel id): a copy of the same
 * packet seen tagged and untagged belongs to one flow, like tshark's tcp.stream. VLAN and
 * tunnel are tags taken from the first packet. See README.md for the timeouts.
 */
import type { BlockFence } from "../capture/chunked-source.ts";
import { decodeFrame } from "../decode/packet.ts";
import {
  DECODE_ERROR_NAMES,
  DecodeError,
  PacketMeta,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  TUNNEL_NAMES,
} from "../decode/packet-meta.ts";
// Type-only: the L7 code (and the row schemas it loads) is only loaded by callers that turn L7 on,
// so L4-only workers start without it (a worker bundle with it took ~60 ms more to load).
import { KEY } from "../l7/flow-key.ts";
import type { L7CaptureReads, L7Processor, L7ProcessorOptions } from "../l7/index.ts";
import { M, METRIC_FIELDS, type MetricKeyView, NetworkMetricsTable, NF } from "../metrics/network-metrics.ts";
import type { ChunkSink } from "../output/file-sink.ts";
import { FlowIdText } from "./flow-id.ts";
import { FlowTable, flowHash } from "./flow-table.ts";
import { ipText } from "./ip-text.ts";
import { SeqVerdict, TcpState, TcpTracker } from "./tcp-state.ts";
import { warmUpOnce } from "./warm-up.ts";

export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

export interface L4FlowRow {
  flow_id: string;
  /** 0 for a flow's first report, then 1, 2, ... (minute reports share the flow_id). */
  report_seq: number;
  /** The flow's last report (close_type is not forced_report). */
  is_final: boolean;
  org_id: string;
  agent_id: string;
  start_time: number;
  end_time: number;
  client_ip: string;
  client_port: number;
  server_ip: string;
  server_port: number;
  ip_protocol: number;
  vlan: number;
  tunnel_type: string;
  tunnel_id: number;
  tunnel_outer_src: string;
  tunnel_outer_dst: string;
  packets_c2s: number;
  packets_s2c: number;
  bytes_c2s: number;
  bytes_s2c: number;
  close_type: string;
  tcp_flags_c2s: number;
  tcp_flags_s2c: number;
  rtt_us: number;
  rtt_client_us: number;
  rtt_server_us: number;
  srt_us: number;
  syn_count: number;
  synack_count: number;
  retrans_c2s: number;
  retrans_s2c: number;
  zero_win_c2s: number;
  zero_win_s2c: number;
  out_of_order_c2s: number;
  out_of_order_s2c: number;
  l7_protocol: string;
}

export interface NetworkMetricsRow {
  time: number;
  org_id: string;
  agent_id: string;
  client_ip: string;
  server_ip: string;
  server_port: number;
  ip_protocol: number;
  packets_c2s: number;
  packets_s2c: number;
  bytes_c2s: number;
  bytes_s2c: number;
  new_flows: number;
  closed_flows: number;
  rtt_sum_us: number;
  rtt_count: number;
  retrans_c2s: number;
  retrans_s2c: number;
  zero_win_c2s: number;
  zero_win_s2c: number;
  client_rst: number;
  server_rst: number;
  /** Flows closed by idle timeout in this second. */
  timeouts: number;
}

/** Timeouts in seconds, per timeout class. */
export interface FlowTimeouts {
  /** SYN seen, handshake not finished. Covers Linux's SYN retries at 1, 3, 7 and 15 s. */
  tcpOpening: number;
  tcpEstablished: number;
  /** One side sent FIN. */
  tcpClosing: number;
  /** Both FINs or a RST: linger so trailing ACKs/retransmitted FINs land in the same flow. */
  tcpClosed: number;
  /** UDP: conntrack's "stream" timeout; request/response protocols go quiet for minutes. */
  udp: number;
  /** ICMP and other IP protocols: conntrack's ICMP timeout. */
  other: number;
}

export const DEFAULT_TIMEOUTS: FlowTimeouts = {
  tcpOpening: 20,
  tcpEstablished: 300,
  tcpClosing: 35,
  tcpClosed: 5,
  udp: 120,
  other: 30,
};

const CLASS_OPENING = 0;
const CLASS_ESTABLISHED = 1;
const CLASS_CLOSING = 2;
const CLASS_CLOSED = 3;
const CLASS_UDP = 4;
const CLASS_OTHER = 5;
const CLASSES = 6;

/**
 * Literal copies of the constants the per-packet methods use. esbuild (tsx, and the bench
 * bundle) writes the members of enums declared in the same file as literals, while a
 * module-level or imported constant is loaded at run time even in V8's optimized code (a
 * context or import-cell load and a check per use, a few hundred instructions a packet in all).
 * Checked against their sources when the module loads.
 */
enum Flag {
  FIN = 0x01,
  SYN = 0x02,
  RST = 0x04,
  ACK = 0x10,
}

enum Mo {
  NF = 15,
  PKT_C2S = 0,
  PKT_S2C = 1,
  BYTES_C2S = 2,
  BYTES_S2C = 3,
  RTT_SUM = 6,
  RTT_COUNT = 7,
  RETRANS_C2S = 8,
  RETRANS_S2C = 9,
  ZW_C2S = 10,
  ZW_S2C = 11,
  CLIENT_RST = 12,
  SERVER_RST = 13,
}

enum St {
  SYN_SENT = 1,
  SYN_RECEIVED = 2,
  ESTABLISHED = 3,
  CLOSING = 4,
  CLOSED_FIN = 5,
  CLOSED_RST = 6,
}

enum Verdict {
  RETRANSMISSION = 1,
  OUT_OF_ORDER = 2,
}

enum Cls {
  C_OPENING = 0,
  C_ESTABLISHED = 1,
  C_CLOSING = 2,
  C_CLOSED = 3,
  C_UDP = 4,
  C_OTHER = 5,
}

enum Dec {
  DECODE_OK = 0,
  NOT_IP = 3,
}
if (
  Flag.FIN !== TCP_FIN ||
  Flag.SYN !== TCP_SYN ||
  Flag.RST !== TCP_RST ||
  Flag.ACK !== TCP_ACK ||
  Mo.NF !== NF ||
  Mo.PKT_C2S !== M.packetsC2s ||
  Mo.PKT_S2C !== M.packetsS2c ||
  Mo.BYTES_C2S !== M.bytesC2s ||
  Mo.BYTES_S2C !== M.bytesS2c ||
  Mo.RTT_SUM !== M.rttSum ||
  Mo.RTT_COUNT !== M.rttCount ||
  Mo.RETRANS_C2S !== M.retransC2s ||
  Mo.RETRANS_S2C !== M.retransS2c ||
  Mo.ZW_C2S !== M.zeroWinC2s ||
  Mo.ZW_S2C !== M.zeroWinS2c ||
  Mo.CLIENT_RST !== M.clientRst ||
  Mo.SERVER_RST !== M.serverRst ||
  St.SYN_SENT !== TcpState.synSent ||
  St.SYN_RECEIVED !== TcpState.synReceived ||
  St.ESTABLISHED !== TcpState.established ||
  St.CLOSING !== TcpState.closing ||
  St.CLOSED_FIN !== TcpState.closedFin ||
  St.CLOSED_RST !== TcpState.closedRst ||
  Verdict.RETRANSMISSION !== SeqVerdict.retransmission ||
  Verdict.OUT_OF_ORDER !== SeqVerdict.outOfOrder ||
  Cls.C_OPENING !== CLASS_OPENING ||
  Cls.C_ESTABLISHED !== CLASS_ESTABLISHED ||
  Cls.C_CLOSING !== CLASS_CLOSING ||
  Cls.C_CLOSED !== CLASS_CLOSED ||
  Cls.C_UDP !== CLASS_UDP ||
  Cls.C_OTHER !== CLASS_OTHER ||
  Dec.DECODE_OK !== DecodeError.ok ||
  Dec.NOT_IP !== DecodeError.notIp
) {
  throw new Error("flow-engine: literal constants (the enums above) out of step with their sources");
}

const CLOSE_NAMES = [
  "",
  "fin",
  "client_rst",
  "server_rst",
  "timeout",
  "forced_report",
  "flow_table_full",
  "port_reuse",
];
const CT_FIN = 1;
const CT_CLIENT_RST = 2;
const CT_SERVER_RST = 3;
const CT_TIMEOUT = 4;
const CT_FORCED = 5;
const CT_FULL = 6;
const CT_REUSE = 7;

export interface EngineOptions {
  onL4?: (row: L4FlowRow) => void;
  onNetworkMetrics?: (row: NetworkMetricsRow) => void;
  orgId?: string;
  agentId?: string;
  /** Bound on concurrent flows; the least recently active flow is evicted when full. */
  maxFlows?: number;
  timeouts?: Partial<FlowTimeouts>;
  vxlanPort?: number;
  genevePort?: number;
  /** Seconds between reports of a long-lived flow. */
  reportIntervalS?: number;
  /** Shard id (0-31) mixed into flow ids so workers never collide. */
  shard?: number;
  /** Engine start, seconds since epoch (default now): the high half of flow ids. */
  startSeconds?: number;
  /** Only handle packets whose flow hash maps to this shard (multi-worker mode). */
  shardFilter?: { index: number; count: number };
  /** L7 parsing (src/l7) of flows with payload; absent = L4 only. Needs `createL7`. */
  l7?: Omit<L7ProcessorOptions, "describeFlow" | "orgId" | "agentId">;
  /** `createL7Processor` from src/l7 (injected so that L4-only users never load it). */
  createL7?: (o: L7ProcessorOptions) => L7Processor;
}

export interface EngineStats {
  packets: number;
  bytes: number;
  /** Packets attributed to a flow. */
  flowPackets: number;
  nonIp: number;
  decodeErrors: number;
  decodeErrorsByKind: Record<string, number>;
  firstErrorOffsets: { kind: string; offset: number }[];
  flowsCreated: number;
  flowsReported: number;
  activeFlows: number;
  maxConcurrentFlows: number;
  evictions: number;
  skippedOtherShards: number;
  firstTs: number;
  lastTs: number;
}

export type Engine = ReturnType<typeof createEngine>;

export function createEngine(opts: EngineOptions = {}) {
  // Once per process: every hot path meets a packet before V8 optimizes it (see warm-up.ts).
  warmUpOnce(() => new FlowEngine({ maxFlows: 64, startSeconds: 1 }));
  return new FlowEngine(opts);
}

const FRAG_SLOTS = 4096;

export class FlowEngine {
  readonly meta = new PacketMeta();
  readonly table: FlowTable;
  readonly tcp: TcpTracker;
  readonly metrics = new NetworkMetricsTable();
  private readonly timeoutsUs: Float64Array;
  private readonly onL4: (row: L4FlowRow) => void;
  private readonly onMetrics: (row: NetworkMetricsRow) => void;
  private readonly orgId: string;
  private readonly agentId: string;
  private readonly reportUs: number;
  private readonly flowIds: FlowIdText;
  /** Multi-worker shard filter: count 0 = none (numbers: an object tested per packet costs a truthiness check). */
  private readonly shardCount: number;
  private readonly shardIndex: number;

  // per flow
  private seqNo!: Uint32Array;
  private reportSeq!: Uint32Array;
  private startTime!: Float64Array;
  private cdir!: Uint8Array; // 0: endpoint A is the client
  private decided!: Uint8Array; // 1: decided by the handshake
  private vlan!: Uint16Array;
  private tunType!: Uint8Array;
  private tunId!: Uint32Array;
  private outVer!: Uint8Array;
  private outer!: Uint32Array; // 8 words per flow
  private synCount!: Uint32Array;
  private synackCount!: Uint32Array;
  private synTime!: Float64Array;
  private synackTime!: Float64Array;
  private rttClient!: Float64Array;
  private rttServer!: Float64Array;
  private rttDone!: Uint8Array;
  private srtSum!: Float64Array;
  private srtCount!: Uint32Array;
  private reqPending!: Uint8Array;
  private reqTime!: Float64Array;
  private rstDir!: Int8Array;
  private mEpoch!: Uint32Array;
  private mSlot!: Int32Array;
  // per flow and direction (flow*2 + dir)
  private pkts!: Float64Array;
  private bytes!: Float64Array;
  private flags!: Uint8Array;
  private retrans!: Uint32Array;
  private zeroWin!: Uint32Array;
  private ooo!: Uint32Array;

  // fragment attribution: (src, dst, id, proto) of first fragments → ports
  private readonly fragKey: Uint32Array = new Uint32Array(FRAG_SLOTS * 4);
  private readonly fragFlow: Int32Array = new Int32Array(FRAG_SLOTS);
  private readonly fragDir: Uint8Array = new Uint8Array(FRAG_SLOTS);
  private readonly fragSeq: Uint32Array = new Uint32Array(FRAG_SLOTS);
  private lastDir = 0;
  /** Flow slot of the packet just handled, -1 when none (see `packetL7Protocol`). */
  private lastFlow = -1;
  private readonly l7: L7Processor | null;
  /** Switched by the controller's configuration; the processor stays, so re-enabling is cheap. */
  private l7On = true;
  /** The frame of the current packet, for the L7 processor's payload view. */
  private frameBuf: Uint8Array = new Uint8Array(0);
  private frameEnd = 0;
  private readonly fragTime: Float64Array = new Float64Array(FRAG_SLOTS);

  private now = 0;
  private nextTick = 0;
  private currentSecond = 0;
  private nextReport = 0;
  private counter = 0;
  private readonly keyView: MetricKeyView = {
    ver: 0,
    c0: 0,
    c1: 0,
    c2: 0,
    c3: 0,
    s0: 0,
    s1: 0,
    s2: 0,
    s3: 0,
    port: 0,
    proto: 0,
  };

  private readonly s: EngineStats = {
    packets: 0,
    bytes: 0,
    flowPackets: 0,
    nonIp: 0,
    decodeErrors: 0,
    decodeErrorsByKind: {},
    firstErrorOffsets: [],
    flowsCreated: 0,
    flowsReported: 0,
    activeFlows: 0,
    maxConcurrentFlows: 0,
    evictions: 0,
    skippedOtherShards: 0,
    firstTs: 0,
    lastTs: 0,
  };

  constructor(opts: EngineOptions) {
    // A double field from the start (0.5, then 0): a count that crosses 2^31 (a capture's bytes
    // past 2 GiB) in a small-integer field changes the stats object's map, which deoptimized the
    // whole packet path mid-run (packet, update, account, newFlow, emit: ~0.1 s of recompiling).
    this.s.bytes = 0.5;
    this.s.bytes = 0;
    const cap = Math.max(16, opts.maxFlows ?? 1_000_000);
    this.table = new FlowTable(cap, CLASSES);
    this.tcp = new TcpTracker(this.table.allocated);
    this.timeoutsUs = new Float64Array(CLASSES);
    this.setTimeouts({ ...DEFAULT_TIMEOUTS, ...opts.timeouts });
    this.onL4 = opts.onL4 ?? (() => {});
    this.onMetrics = opts.onNetworkMetrics ?? (() => {});
    this.orgId = opts.orgId ?? NIL_UUID;
    this.agentId = opts.agentId ?? NIL_UUID;
    this.reportUs = (opts.reportIntervalS ?? 60) * 1e6;
    const startSec = opts.startSeconds ?? Math.floor(Date.now() / 1000);
    this.flowIds = new FlowIdText((BigInt(startSec >>> 0) << 32n) | (BigInt((opts.shard ?? 0) & 31) << 27n));
    this.shardCount = opts.shardFilter?.count ?? 0;
    this.shardIndex = opts.shardFilter?.index ?? 0;
    if (opts.l7 && !opts.createL7)
      throw new Error("engine option l7 needs createL7 (createL7Processor from src/l7)");
    this.l7 =
      opts.l7 && opts.createL7
        ? opts.createL7({
            ...opts.l7,
            orgId: this.orgId,
            agentId: this.agentId,
            describeFlow: (f) => this.describeFlow(f),
            flowKey: (f, k) => this.flowKey(f, k),
          })
        : null;
    if (opts.vxlanPort !== undefined) this.meta.vxlanPort = opts.vxlanPort;
    if (opts.genevePort !== undefined) this.meta.genevePort = opts.genevePort;

    this.sizeFlows(this.table.allocated);
  }

  /**
   * Per-flow arrays for n slots, keeping what the first slots hold. They start small and double
   * with the table (up to maxFlows): a 2 M-flow engine used to allocate ~900 MB of arrays up
   * front, which cost ~50 ms and a burst of external-memory GCs at start even when pages stayed
   * untouched.
   */
  private sizeFlows(n: number): void {
    this.seqNo = resized(this.seqNo, new Uint32Array(n));
    this.reportSeq = resized(this.reportSeq, new Uint32Array(n));
    this.startTime = resized(this.startTime, new Float64Array(n));
    this.cdir = resized(this.cdir, new Uint8Array(n));
    this.decided = resized(this.decided, new Uint8Array(n));
    this.vlan = resized(this.vlan, new Uint16Array(n));
    this.tunType = resized(this.tunType, new Uint8Array(n));
    this.tunId = resized(this.tunId, new Uint32Array(n));
    this.outVer = resized(this.outVer, new Uint8Array(n));
    this.outer = resized(this.outer, new Uint32Array(n * 8));
    this.synCount = resized(this.synCount, new Uint32Array(n));
    this.synackCount = resized(this.synackCount, new Uint32Array(n));
    this.synTime = resized(this.synTime, new Float64Array(n));
    this.synackTime = resized(this.synackTime, new Float64Array(n));
    this.rttClient = resized(this.rttClient, new Float64Array(n));
    this.rttServer = resized(this.rttServer, new Float64Array(n));
    this.rttDone = resized(this.rttDone, new Uint8Array(n));
    this.srtSum = resized(this.srtSum, new Float64Array(n));
    this.srtCount = resized(this.srtCount, new Uint32Array(n));
    this.reqPending = resized(this.reqPending, new Uint8Array(n));
    this.reqTime = resized(this.reqTime, new Float64Array(n));
    this.rstDir = resized(this.rstDir, new Int8Array(n));
    this.mEpoch = resized(this.mEpoch, new Uint32Array(n));
    this.mSlot = resized(this.mSlot, new Int32Array(n));
    this.pkts = resized(this.pkts, new Float64Array(n * 2));
    this.bytes = resized(this.bytes, new Float64Array(n * 2));
    this.flags = resized(this.flags, new Uint8Array(n * 2));
    this.retrans = resized(this.retrans, new Uint32Array(n * 2));
    this.zeroWin = resized(this.zeroWin, new Uint32Array(n * 2));
    this.ooo = resized(this.ooo, new Uint32Array(n * 2));
  }

  /** Every slot allocated so far is in use: double the table, TCP state and flow arrays. */
  private growFlows(): void {
    const n = Math.min(this.table.capacity, this.table.allocated * 2);
    this.table.resize(n);
    this.tcp.resize(n);
    this.sizeFlows(n);
  }

  /** One captured frame. `buf[off .. off+capLen)` is only read during the call. */
  packet(
    linkType: number,
    buf: Uint8Array,
    off: number,
    capLen: number,
    wireLen: number,
    ts: number,
    fileOffset = -1,
  ): void {
    this.countAndAdvance(wireLen, ts);
    const m = this.meta;
    // Stored only when it changes: the reader's block Buffer can be young for a long time (this
    // loop allocates almost nothing, so no scavenge promotes it), and every store of a young
    // object into the old engine took the write barrier's slow path (~60 instructions a packet).
    if (this.frameBuf !== buf) this.frameBuf = buf;
    this.frameEnd = off + capLen;
    const err = decodeFrame(m, linkType, buf, off, capLen);
    if (err !== Dec.DECODE_OK) {
      this.notDecoded(err, fileOffset);
      return;
    }
    this.afterDecode(m, wireLen);
  }

  /**
   * A frame decodeFrame refused: counted. Out of `packet` (as fragments are out of
   * `afterDecode` and tunnels out of `reset`) so that the reader's handler with packet,
   * decodeFrame, reset and the clock stays within V8's inlining budget (920 bytecode bytes, a
   * candidate counted at 1.2×): the record loop then inlines it, one call less per packet.
   */
  private notDecoded(err: number, fileOffset: number): void {
    this.lastFlow = -1;
    if (err === Dec.NOT_IP) this.s.nonIp++;
    else this.decodeError(DECODE_ERROR_NAMES[err] ?? "unknown", fileOffset);
  }

  /**
   * A packet already decoded into `this.meta` by someone else (the dispatcher of a multi-worker
   * run): clock, counters and flow update, no decoding.
   */
  decoded(wireLen: number, ts: number, payload?: Uint8Array, payloadOff = 0, payloadCapLen = 0): void {
    if (payload) {
      // The dispatcher forwards only the captured payload bytes: point the decoded packet at them.
      if (this.frameBuf !== payload) this.frameBuf = payload;
      this.meta.payloadOffset = payloadOff;
      this.frameEnd = payloadOff + payloadCapLen;
    } else this.frameEnd = 0;
    this.countAndAdvance(wireLen, ts);
    this.afterDecode(this.meta, wireLen);
  }

  /** Every packet, decoded here or by a dispatcher: counters, and the packet-driven clock. */
  private countAndAdvance(wireLen: number, ts: number): void {
    const s = this.s;
    s.packets++;
    s.bytes += wireLen;
    if (s.firstTs === 0) s.firstTs = ts;
    if (ts > this.now) {
      this.now = ts;
      this.table.now = ts;
      this.tcp.now = ts;
      if (ts >= this.nextTick) this.tick(ts);
    }
    s.lastTs = this.now;
  }

  private afterDecode(m: PacketMeta, wireLen: number): void {
    if (m.fragment === 0) this.update(m, wireLen);
    else this.fragmentPacket(m, wireLen);
  }

  /** An IP fragment: the first one is accounted normally, later ones go to its flow. */
  private fragmentPacket(m: PacketMeta, wireLen: number): void {
    if (m.laterFragment === 1) {
      this.lastFlow = -1;
      if (!this.laterFragment(m, wireLen)) this.update(m, wireLen);
    } else {
      // Remembered even when another shard owns the flow (f = -1), so this shard then drops
      // the later fragments instead of inventing a ports-0 flow for them.
      const f = this.update(m, wireLen);
      this.rememberFirstFragment(m, f, this.lastDir);
    }
  }

  /** A reader-level error (truncated file, bogus length): counted with its offset. */
  decodeError(kind: string, offset: number): void {
    const s = this.s;
    s.decodeErrors++;
    s.decodeErrorsByKind[kind] = (s.decodeErrorsByKind[kind] ?? 0) + 1;
    if (s.firstErrorOffsets.length < 10) s.firstErrorOffsets.push({ kind, offset });
  }

  /**
   * Fragments: the first fragment (the one with the L4 header, possibly of a tunnelled inner
   * packet) is decoded and accounted normally, then its (src, dst, id, protocol) is remembered
   * with the flow and direction it went to; later fragments, which have no L4 header, go to the
   * same flow and direction. A later fragment whose first fragment was not seen (reordered or
   * lost) is keyed on the addresses with ports 0.
   */
  private fragSlot(m: PacketMeta): number {
    let h = Math.imul(m.fragSrc ^ Math.imul(m.fragDst, 31) ^ m.fragId, 0x9e3779b1) ^ m.fragProto;
    h ^= h >>> 16;
    return h & (FRAG_SLOTS - 1);
  }

  private fragMatches(m: PacketMeta, h: number): boolean {
    const k = h * 4;
    return (
      this.fragKey[k] === m.fragSrc >>> 0 &&
      this.fragKey[k + 1] === m.fragDst >>> 0 &&
      this.fragKey[k + 2] === m.fragId >>> 0 &&
      this.fragKey[k + 3] === m.fragProto
    );
  }

  private laterFragment(m: PacketMeta, wireLen: number): boolean {
    const ts = this.now;
    const h = this.fragSlot(m);
    if (!this.fragMatches(m, h) || ts - this.fragTime[h]! > 30e6) return false;
    const f = this.fragFlow[h]!;
    if (f < 0) {
      this.s.skippedOtherShards++;
      return true;
    }
    if (!this.table.used[f] || this.seqNo[f] !== this.fragSeq[h]) return false;
    this.account(f, this.fragDir[h]!, wireLen);
    this.table.touch(f, this.classOf(f));
    return true;
  }

  private rememberFirstFragment(m: PacketMeta, f: number, dir: number): void {
    const ts = this.now;
    const h = this.fragSlot(m);
    const k = h * 4;
    this.fragKey[k] = m.fragSrc >>> 0;
    this.fragKey[k + 1] = m.fragDst >>> 0;
    this.fragKey[k + 2] = m.fragId >>> 0;
    this.fragKey[k + 3] = m.fragProto;
    this.fragFlow[h] = f;
    this.fragDir[h] = dir;
    this.fragSeq[h] = f >= 0 ? this.seqNo[f]! : 0;
    this.fragTime[h] = ts;
  }

  private classOf(f: number): number {
    const p = this.table.proto(f);
    if (p === 17) return CLASS_UDP;
    if (p !== 6) return CLASS_OTHER;
    const st = this.tcp.state[f]!;
    if (st === TcpState.synSent || st === TcpState.synReceived) return CLASS_OPENING;
    if (st === TcpState.established || st === TcpState.none) return CLASS_ESTABLISHED;
    if (st === TcpState.closing) return CLASS_CLOSING;
    return CLASS_CLOSED;
  }

  /** Packet and byte counters of flow `f`, direction `dir`, and its metrics slot. */
  private account(f: number, dir: number, wireLen: number): number {
    const fd = f * 2 + dir;
    const pkts = this.pkts;
    const bytes = this.bytes;
    pkts[fd] = pkts[fd]! + 1;
    bytes[fd] = bytes[fd]! + wireLen;
    this.s.flowPackets++;
    const mt = this.metrics;
    if (this.mEpoch[f] !== mt.epoch) {
      this.mSlot[f] = mt.slot(this.keyOf(f));
      this.mEpoch[f] = mt.epoch;
    }
    const mb = this.mSlot[f]! * Mo.NF;
    const mc = mt.counters;
    if (dir === this.cdir[f]) {
      mc[mb + Mo.PKT_C2S] = mc[mb + Mo.PKT_C2S]! + 1;
      mc[mb + Mo.BYTES_C2S] = mc[mb + Mo.BYTES_C2S]! + wireLen;
    } else {
      mc[mb + Mo.PKT_S2C] = mc[mb + Mo.PKT_S2C]! + 1;
      mc[mb + Mo.BYTES_S2C] = mc[mb + Mo.BYTES_S2C]! + wireLen;
    }
    return mb;
  }

  private update(m: PacketMeta, wireLen: number): number {
    const table = this.table;
    const h = flowHash(m);
    if (this.shardCount !== 0 && (h >>> 0) % this.shardCount !== this.shardIndex) {
      this.s.skippedOtherShards++;
      this.lastFlow = -1;
      return -1;
    }
    let f = table.lookup(m, h);
    let dir = table.dir;
    const proto = m.proto;
    const isTcp = proto === 6 && m.laterFragment === 0;
    const fl = isTcp ? m.tcpFlags : 0;
    if (f >= 0 && isTcp && (fl & (Flag.SYN | Flag.ACK | Flag.RST)) === Flag.SYN)
      f = this.reusedPort(f, dir, m);
    if (f < 0) {
      f = this.newFlow(m, h);
      dir = 0;
    }
    const mb = this.account(f, dir, wireLen);
    this.lastDir = dir;
    this.lastFlow = f;

    let cls = Cls.C_OTHER;
    if (isTcp) cls = this.tcpPacket(f, dir, m, mb);
    else if (proto === 17) cls = Cls.C_UDP;
    table.touch(f, cls);
    if (this.l7 !== null) this.toL7(f, dir, m);
    return f;
  }

  /**
   * A SYN (no ACK) on flow `f`: on a closed connection, or with another ISN than the SYN seen,
   * the port is reused and `f` is closed (-1 returned: a new flow), else `f`. Out of `update`
   * to keep it small (V8 compiles small functions better and inlines them).
   */
  private reusedPort(f: number, dir: number, m: PacketMeta): number {
    const st = this.tcp.state[f]!;
    const d = f * 2 + dir;
    if (st === St.CLOSED_FIN || st === St.CLOSED_RST) {
      this.close(f, st === St.CLOSED_FIN ? CT_FIN : this.rstType(f));
      return -1;
    }
    if (this.tcp.synSeen[d] && this.tcp.synIsn[d] !== m.seq) {
      this.close(f, CT_REUSE);
      return -1;
    }
    return f;
  }

  /**
   * The packet in `m` (flow `f`, direction `dir`) to the L7 processor, which takes its payload.
   * Small, since `update` inlines it: with the payload checks and onPayload's eight arguments
   * here, V8's cumulative inlining budget of `update` (920 bytecode bytes) no longer had room for
   * the flow table's `unlink`, which then ran as a call per packet in L7 runs only.
   */
  private toL7(f: number, dir: number, m: PacketMeta): void {
    if (m.payloadLen > 0 && this.l7On)
      this.l7!.onPacket(f, dir === this.cdir[f] ? 0 : 1, m, this.frameBuf, this.frameEnd, this.now);
  }

  private tcpPacket(f: number, dir: number, m: PacketMeta, mb: number): number {
    const ts = this.now;
    const fd = f * 2 + dir;
    const fl = m.tcpFlags;
    const tcp = this.tcp;
    const flags = this.flags;
    flags[fd] = flags[fd]! | fl;
    const mc = this.metrics.counters;
    if (fl & Flag.SYN) {
      if (fl & Flag.ACK) {
        this.synackCount[f] = this.synackCount[f]! + 1;
        this.synackTime[f] = ts;
        if (!this.decided[f]) this.setClient(f, dir ^ 1);
      } else {
        this.synCount[f] = this.synCount[f]! + 1;
        this.synTime[f] = ts;
        tcp.synSeen[fd] = 1;
        tcp.synIsn[fd] = m.seq;
        if (!this.decided[f]) this.setClient(f, dir);
      }
    } else if (
      fl & Flag.ACK &&
      !this.rttDone[f] &&
      this.synackTime[f]! > 0 &&
      this.synTime[f]! > 0 &&
      dir === this.cdir[f]
    ) {
      this.rttDone[f] = 1;
      this.rttClient[f] = ts - this.synackTime[f]!;
      this.rttServer[f] = Math.max(0, this.synackTime[f]! - this.synTime[f]!);
      tcp.firstRtt[f] = ts - this.synTime[f]!;
      mc[mb + Mo.RTT_SUM] = mc[mb + Mo.RTT_SUM]! + this.rttClient[f]! + this.rttServer[f]!;
      mc[mb + Mo.RTT_COUNT] = mc[mb + Mo.RTT_COUNT]! + 1;
    }
    const c2s = dir === this.cdir[f];
    if (m.window === 0 && (fl & 0x07) === 0) {
      this.zeroWin[fd] = this.zeroWin[fd]! + 1;
      mc[mb + (c2s ? Mo.ZW_C2S : Mo.ZW_S2C)] = mc[mb + (c2s ? Mo.ZW_C2S : Mo.ZW_S2C)]! + 1;
    }
    const v = tcp.analyze(f, dir, m);
    if (v === Verdict.RETRANSMISSION) {
      this.retrans[fd] = this.retrans[fd]! + 1;
      mc[mb + (c2s ? Mo.RETRANS_C2S : Mo.RETRANS_S2C)] =
        mc[mb + (c2s ? Mo.RETRANS_C2S : Mo.RETRANS_S2C)]! + 1;
    } else if (v === Verdict.OUT_OF_ORDER) this.ooo[fd] = this.ooo[fd]! + 1;
    // Server response time: first server payload after client payload.
    if (m.payloadLen > 0 && v !== Verdict.RETRANSMISSION) {
      if (c2s) {
        if (!this.reqPending[f]) {
          this.reqPending[f] = 1;
          this.reqTime[f] = ts;
        }
      } else if (this.reqPending[f]) {
        this.reqPending[f] = 0;
        this.srtSum[f] = this.srtSum[f]! + ts - this.reqTime[f]!;
        this.srtCount[f] = this.srtCount[f]! + 1;
      }
    }
    const before = tcp.state[f]!;
    const st = tcp.transition(f, dir, fl);
    if (st === St.CLOSED_RST && before !== St.CLOSED_RST) {
      this.rstDir[f] = dir;
      mc[mb + (c2s ? Mo.CLIENT_RST : Mo.SERVER_RST)] = mc[mb + (c2s ? Mo.CLIENT_RST : Mo.SERVER_RST)]! + 1;
    }
    if (st === St.SYN_SENT || st === St.SYN_RECEIVED) return Cls.C_OPENING;
    if (st === St.ESTABLISHED) return Cls.C_ESTABLISHED;
    if (st === St.CLOSING) return Cls.C_CLOSING;
    return Cls.C_CLOSED;
  }

  private setClient(f: number, clientDir: number): void {
    this.decided[f] = 1;
    if (this.cdir[f] !== clientDir) {
      this.cdir[f] = clientDir;
      // The metrics key changes with the roles: take a fresh slot next packet.
      this.mEpoch[f] = 0;
    }
  }

  private newFlow(m: PacketMeta, h: number): number {
    const ts = this.now;
    const table = this.table;
    if (table.full) this.evictOne();
    else if (table.needsRoom) this.growFlows();
    const f = table.insert(m, h);
    const s = this.s;
    s.flowsCreated++;
    if (table.count > s.maxConcurrentFlows) s.maxConcurrentFlows = table.count;
    this.seqNo[f] = this.counter++ & 0x7ffffff;
    this.reportSeq[f] = 0;
    this.startTime[f] = ts;
    this.vlan[f] = m.vlan;
    this.tunType[f] = m.tunnelType;
    this.tunId[f] = m.tunnelId;
    this.outVer[f] = m.outerVersion;
    const o = f * 8;
    this.outer[o] = m.outerSrc0;
    this.outer[o + 1] = m.outerSrc1;
    this.outer[o + 2] = m.outerSrc2;
    this.outer[o + 3] = m.outerSrc3;
    this.outer[o + 4] = m.outerDst0;
    this.outer[o + 5] = m.outerDst1;
    this.outer[o + 6] = m.outerDst2;
    this.outer[o + 7] = m.outerDst3;
    this.synCount[f] = 0;
    this.synackCount[f] = 0;
    this.synTime[f] = 0;
    this.synackTime[f] = 0;
    this.rttClient[f] = 0;
    this.rttServer[f] = 0;
    this.rttDone[f] = 0;
    this.srtSum[f] = 0;
    this.srtCount[f] = 0;
    this.reqPending[f] = 0;
    this.rstDir[f] = -1;
    this.mEpoch[f] = 0;
    this.resetCounters(f);
    this.flags[f * 2] = 0;
    this.flags[f * 2 + 1] = 0;
    this.tcp.reset(f);
    this.decided[f] = 0;
    this.cdir[f] = guessClientDir(m);
    if (m.proto === 6 && m.laterFragment === 0) {
      const fl = m.tcpFlags & (TCP_SYN | TCP_ACK);
      if (fl === TCP_SYN) {
        // The SYN sender is the client whatever the ports say (an ephemeral port may be
        // lower than the server's).
        this.cdir[f] = 0;
        this.decided[f] = 1;
      } else if (fl === (TCP_SYN | TCP_ACK)) {
        this.cdir[f] = 1;
        this.decided[f] = 1;
      }
    }
    const mt = this.metrics;
    this.mSlot[f] = mt.slot(this.keyOf(f));
    this.mEpoch[f] = mt.epoch;
    mt.counters[this.mSlot[f]! * NF + M.newFlows] = mt.counters[this.mSlot[f]! * NF + M.newFlows]! + 1;
    return f;
  }

  private resetCounters(f: number): void {
    for (let d = f * 2; d < f * 2 + 2; d++) {
      this.pkts[d] = 0;
      this.bytes[d] = 0;
      this.retrans[d] = 0;
      this.zeroWin[d] = 0;
      this.ooo[d] = 0;
    }
  }

  private keyOf(f: number): MetricKeyView {
    const t = this.table;
    const k = this.keyView;
    k.ver = t.ver(f);
    k.proto = t.proto(f);
    if (this.cdir[f] === 0) {
      k.c0 = t.a(f, 0);
      k.c1 = t.a(f, 1);
      k.c2 = t.a(f, 2);
      k.c3 = t.a(f, 3);
      k.s0 = t.b(f, 0);
      k.s1 = t.b(f, 1);
      k.s2 = t.b(f, 2);
      k.s3 = t.b(f, 3);
      k.port = t.pb(f);
    } else {
      k.c0 = t.b(f, 0);
      k.c1 = t.b(f, 1);
      k.c2 = t.b(f, 2);
      k.c3 = t.b(f, 3);
      k.s0 = t.a(f, 0);
      k.s1 = t.a(f, 1);
      k.s2 = t.a(f, 2);
      k.s3 = t.a(f, 3);
      k.port = t.pa(f);
    }
    return k;
  }

  private rstType(f: number): number {
    return this.rstDir[f] === this.cdir[f] ? CT_CLIENT_RST : CT_SERVER_RST;
  }

  private closeTypeOf(f: number): number {
    const st = this.tcp.state[f]!;
    if (this.table.proto(f) === 6) {
      if (st === TcpState.closedFin) return CT_FIN;
      if (st === TcpState.closedRst) return this.rstType(f);
    }
    return CT_TIMEOUT;
  }

  private evictOne(): void {
    // The least recently active flow among the LRU heads of all classes.
    const t = this.table;
    let best = -1;
    for (let c = 0; c < CLASSES; c++) {
      const h = t.lruHead[c]!;
      if (h >= 0 && (best < 0 || t.lastSeen[h]! < t.lastSeen[best]!)) best = h;
    }
    if (best < 0) return;
    this.s.evictions++;
    this.close(best, CT_FULL);
  }

  private close(f: number, closeType: number): void {
    const mt = this.metrics;
    if (this.mEpoch[f] !== mt.epoch) {
      this.mSlot[f] = mt.slot(this.keyOf(f));
      this.mEpoch[f] = mt.epoch;
    }
    const mb = this.mSlot[f]! * NF;
    mt.counters[mb + M.closedFlows] = mt.counters[mb + M.closedFlows]! + 1;
    if (closeType === CT_TIMEOUT) mt.counters[mb + M.timeouts] = mt.counters[mb + M.timeouts]! + 1;
    this.emit(f, closeType);
    this.l7?.onFlowEnd(f, this.now);
    this.table.remove(f);
  }

  private emit(f: number, closeType: number): void {
    const t = this.table;
    const c = this.cdir[f]!;
    const cd = f * 2 + c;
    const sd = f * 2 + (c ^ 1);
    const ver = t.ver(f);
    const aIp = ipText(ver, t.a(f, 0), t.a(f, 1), t.a(f, 2), t.a(f, 3));
    const bIp = ipText(ver, t.b(f, 0), t.b(f, 1), t.b(f, 2), t.b(f, 3));
    const o = f * 8;
    const tun = this.tunType[f]!;
    const ov = this.outVer[f]!;
    const rttDone = this.rttDone[f] === 1;
    const srtN = this.srtCount[f]!;
    const row: L4FlowRow = {
      flow_id: this.flowIds.of(this.seqNo[f]!),
      report_seq: this.reportSeq[f]!,
      is_final: closeType !== CT_FORCED,
      org_id: this.orgId,
      agent_id: this.agentId,
      start_time: this.startTime[f]!,
      // Last packet so far: for a minute report, every packet it counts is before the boundary.
      end_time: t.lastSeen[f]!,
      client_ip: c === 0 ? aIp : bIp,
      client_port: c === 0 ? t.pa(f) : t.pb(f),
      server_ip: c === 0 ? bIp : aIp,
      server_port: c === 0 ? t.pb(f) : t.pa(f),
      ip_protocol: t.proto(f),
      vlan: this.vlan[f]!,
      tunnel_type: TUNNEL_NAMES[tun] ?? "",
      tunnel_id: this.tunId[f]!,
      tunnel_outer_src: tun
        ? ipText(ov, this.outer[o]!, this.outer[o + 1]!, this.outer[o + 2]!, this.outer[o + 3]!)
        : "",
      tunnel_outer_dst: tun
        ? ipText(ov, this.outer[o + 4]!, this.outer[o + 5]!, this.outer[o + 6]!, this.outer[o + 7]!)
        : "",
      packets_c2s: this.pkts[cd]!,
      packets_s2c: this.pkts[sd]!,
      bytes_c2s: this.bytes[cd]!,
      bytes_s2c: this.bytes[sd]!,
      close_type: CLOSE_NAMES[closeType] ?? "",
      tcp_flags_c2s: this.flags[cd]!,
      tcp_flags_s2c: this.flags[sd]!,
      rtt_us: rttDone ? Math.round(this.rttClient[f]! + this.rttServer[f]!) : 0,
      rtt_client_us: rttDone ? Math.round(this.rttClient[f]!) : 0,
      rtt_server_us: rttDone ? Math.round(this.rttServer[f]!) : 0,
      srt_us: srtN > 0 ? Math.round(this.srtSum[f]! / srtN) : 0,
      syn_count: this.synCount[f]!,
      synack_count: this.synackCount[f]!,
      retrans_c2s: this.retrans[cd]!,
      retrans_s2c: this.retrans[sd]!,
      zero_win_c2s: this.zeroWin[cd]!,
      zero_win_s2c: this.zeroWin[sd]!,
      out_of_order_c2s: this.ooo[cd]!,
      out_of_order_s2c: this.ooo[sd]!,
      l7_protocol: this.l7 !== null ? this.l7.protocolOf(f) : "",
    };
    this.reportSeq[f] = this.reportSeq[f]! + 1;
    this.s.flowsReported++;
    this.onL4(row);
  }

  /**
   * Changes timeouts while running (a configuration from the controller). Safe at any time: all
   * flows of a class share its timeout, so each class's LRU list stays in expiry order.
   */
  setTimeouts(t: Partial<FlowTimeouts>): void {
    const u = this.timeoutsUs;
    if (t.tcpOpening !== undefined) u[CLASS_OPENING] = t.tcpOpening * 1e6;
    if (t.tcpEstablished !== undefined) u[CLASS_ESTABLISHED] = t.tcpEstablished * 1e6;
    if (t.tcpClosing !== undefined) u[CLASS_CLOSING] = t.tcpClosing * 1e6;
    if (t.tcpClosed !== undefined) u[CLASS_CLOSED] = t.tcpClosed * 1e6;
    if (t.udp !== undefined) u[CLASS_UDP] = t.udp * 1e6;
    if (t.other !== undefined) u[CLASS_OTHER] = t.other * 1e6;
  }

  /** Advances the clock: metrics for finished seconds, expiry, minute reports. */
  tick(now: number): void {
    if (now > this.now) {
      this.now = now;
      // The table's and tracker's copies (unboxed double fields) follow the clock.
      this.table.now = now;
      this.tcp.now = now;
    }
    const sec = Math.floor(now / 1e6) * 1e6;
    if (this.currentSecond === 0) {
      this.currentSecond = sec;
      this.nextReport = Math.floor(now / this.reportUs) * this.reportUs + this.reportUs;
    }
    if (sec > this.currentSecond) {
      this.flushMetrics(this.currentSecond);
      this.currentSecond = sec;
    }
    this.expire(now);
    this.l7?.tick(now);
    if (now >= this.nextReport) {
      this.forcedReports();
      this.nextReport = Math.floor(now / this.reportUs) * this.reportUs + this.reportUs;
    }
    this.nextTick = sec + 1e6;
  }

  private expire(now: number): void {
    const t = this.table;
    for (let c = 0; c < CLASSES; c++) {
      const limit = now - this.timeoutsUs[c]!;
      for (;;) {
        const h = t.lruHead[c]!;
        if (h < 0 || t.lastSeen[h]! > limit) break;
        this.close(h, this.closeTypeOf(h));
      }
    }
  }

  private forcedReports(): void {
    const t = this.table;
    const boundary = this.nextReport;
    const end = t.highWater;
    for (let f = 0; f < end; f++) {
      if (!t.used[f] || this.startTime[f]! >= boundary) continue;
      if (this.pkts[f * 2]! + this.pkts[f * 2 + 1]! === 0) continue;
      this.emit(f, CT_FORCED);
      this.resetCounters(f);
    }
  }

  private flushMetrics(second: number): void {
    const emit = this.onMetrics;
    const org = this.orgId;
    const agent = this.agentId;
    this.metrics.flush((slot, ver, keys, port, proto, c) => {
      const o = slot * 8;
      const b = slot * NF;
      const row = {
        time: second,
        org_id: org,
        agent_id: agent,
        client_ip: ipText(ver, keys[o]!, keys[o + 1]!, keys[o + 2]!, keys[o + 3]!),
        server_ip: ipText(ver, keys[o + 4]!, keys[o + 5]!, keys[o + 6]!, keys[o + 7]!),
        server_port: port,
        ip_protocol: proto,
      } as Record<string, number | string>;
      for (let i = 0; i < NF; i++) row[METRIC_FIELDS[i]!] = c[b + i]!;
      emit(row as unknown as NetworkMetricsRow);
    });
  }

  /** End of input: every open flow is reported, then the last second's metrics. */
  flush(): void {
    const t = this.table;
    // Slots are handed out lowest first: stop once every open flow is closed, not at capacity.
    const end = t.highWater;
    for (let f = 0; f < end && t.count > 0; f++) {
      if (t.used[f]) this.close(f, this.closeTypeOf(f));
    }
    this.l7?.flush(this.now);
    if (this.metrics.used > 0) this.flushMetrics(this.currentSecond || Math.floor(this.now / 1e6) * 1e6);
  }

  /** describeFlow's answer as numbers (KEY in src/l7/flow-key.ts), for the native row path. */
  private flowKey(f: number, k: Float64Array): boolean {
    const t = this.table;
    const c = this.cdir[f]!;
    this.flowIds.parts(this.seqNo[f]!, k, KEY.idHi);
    k[KEY.ver] = t.ver(f);
    k[KEY.proto] = t.proto(f);
    const ai = c === 0 ? KEY.clientIp : KEY.serverIp;
    const bi = c === 0 ? KEY.serverIp : KEY.clientIp;
    for (let i = 0; i < 4; i++) {
      k[ai + i] = t.a(f, i);
      k[bi + i] = t.b(f, i);
    }
    // Both ports read, as in describeFlow (one call per branch deoptimized it).
    const pa = t.pa(f);
    const pb = t.pb(f);
    k[KEY.clientPort] = c === 0 ? pa : pb;
    k[KEY.serverPort] = c === 0 ? pb : pa;
    return true;
  }

  /** What the L7 rows of flow `f` say about it: the same ids and roles as its L4 row. */
  private describeFlow(f: number) {
    const t = this.table;
    const c = this.cdir[f]!;
    const ver = t.ver(f);
    const aIp = ipText(ver, t.a(f, 0), t.a(f, 1), t.a(f, 2), t.a(f, 3));
    const bIp = ipText(ver, t.b(f, 0), t.b(f, 1), t.b(f, 2), t.b(f, 3));
    // Both ports read whichever side is the client: with one call per branch, the first flow
    // whose client is side b met a call without feedback and deoptimized this function.
    const pa = t.pa(f);
    const pb = t.pb(f);
    return {
      flowId: this.flowIds.of(this.seqNo[f]!),
      clientIp: c === 0 ? aIp : bIp,
      clientPort: c === 0 ? pa : pb,
      serverIp: c === 0 ? bIp : aIp,
      serverPort: c === 0 ? pb : pa,
      ipProtocol: t.proto(f),
    };
  }

  /**
   * The L7 protocol detected on the flow of the packet just handled by `packet` / `decoded`
   * ("" while unknown, without L7, or for a packet in no flow: not IP, another shard's, a later
   * fragment). For the packet broker's l7Protocols policies: the slot the engine just used,
   * instead of a second hash and lookup.
   */
  packetL7Protocol(): string {
    const f = this.lastFlow;
    if (f < 0 || this.l7 === null || this.meta.laterFragment !== 0) return "";
    return this.l7.protocolOf(f);
  }

  /** Turns L7 parsing on or off (configuration); off keeps L4 exactly as before. */
  setL7Enabled(on: boolean): void {
    this.l7On = on;
  }

  l7Stats() {
    return this.l7?.stats() ?? null;
  }

  /** The L7 processor's block fence for the capture reader (see L7Processor.blockFence). */
  l7BlockFence(): BlockFence | undefined {
    return this.l7?.blockFence();
  }

  /** The L7 processor's writer of the JSONL files' chunks, if it has one (see L7Processor.chunkSink). */
  l7ChunkSink(): ChunkSink | undefined {
    return this.l7?.chunkSink();
  }

  /** Whether the L7 processor's row thread wrote its files with O_DIRECT (see L7Processor.directOutput). */
  l7DirectOutput(): boolean {
    return this.l7?.directOutput() ?? false;
  }

  /** How the L7 processor's row thread read the capture (see L7Processor.captureReads). */
  l7CaptureReads(): L7CaptureReads {
    return this.l7?.captureReads() ?? "blocks";
  }

  /** How the L7 processor makes rows (its `nativeKind`), or "" without L7. */
  l7RowPath(): string {
    return this.l7?.nativeKind ?? "";
  }

  stats(): EngineStats {
    this.s.activeFlows = this.table.count;
    return {
      ...this.s,
      decodeErrorsByKind: { ...this.s.decodeErrorsByKind },
      firstErrorOffsets: [...this.s.firstErrorOffsets],
    };
  }
}

/** Client side before any handshake is seen: 0 = packet source, 1 = packet destination. */
function guessClientDir(m: PacketMeta): number {
  if (m.proto === 1 || m.proto === 58) {
    const t = m.icmpType;
    if (t === 0 || t === 129) return 1; // echo reply: the destination asked
    return 0;
  }
  const sp = m.srcPort;
  const dp = m.dstPort;
  const sWell = sp < 1024;
  const dWell = dp < 1024;
  if (sWell !== dWell) return sWell ? 1 : 0; // the well-known side serves
  if (sp !== dp) return sp < dp ? 1 : 0; // else the lower port serves
  return 0;
}

type FlowArray = Uint8Array | Int8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** `fresh` holding `old`'s values at its start (none on the first sizing). */
function resized<T extends FlowArray>(old: T | undefined, fresh: T): T {
  if (old !== undefined) (fresh as Uint8Array).set(old as Uint8Array);
  return fresh;
}
