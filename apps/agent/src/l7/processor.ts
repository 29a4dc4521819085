/**
 * The per-flow L7 processor: detection, bounded per-direction stream handling, request/response
 * pairing, timeouts, privacy and row building. Parsers (./protocols) only speak wire formats.
 * See index.ts for the interface the flow engine calls.
 */
import { getSystemErrorMap } from "node:util";
import type { BlockFence, ChunkedSource } from "../capture/chunked-source.ts";
import type { PacketMeta } from "../decode/packet-meta.ts";
import type { ChunkSink } from "../output/file-sink.ts";
import { AppMetrics, type AppMetricsRow } from "./app-metrics.ts";
import { type FlowKeyOf, KEY, keyFromMeta, swapKey } from "./flow-key.ts";
import {
  NATIVE_DNS,
  NATIVE_HTTP,
  NATIVE_PG,
  NATIVE_REDIS,
  type NativeRows,
  nativeRowsAddon,
  type RawSink,
  SEG_ARGS,
  SEG_BATCH,
  SEG_END,
  SEG_OPEN,
  STAT,
} from "./native/http1-rows.ts";
import { dns } from "./protocols/dns.ts";
import { http1 } from "./protocols/http1.ts";
import { postgresql } from "./protocols/postgres.ts";
import { redis } from "./protocols/redis.ts";
import { PROTOCOLS } from "./protocols/registry.ts";
import { HeaderPolicyImpl, type HeaderPolicyOptions } from "./trace-context.ts";
import type {
  FlowMeta,
  L7Parser,
  L7Request,
  L7Response,
  L7Row,
  ParseContext,
  ProtocolSpec,
  ResponseStatus,
} from "./types.ts";

export interface L7ProcessorOptions extends HeaderPolicyOptions {
  orgId?: string;
  agentId?: string;
  onL7?: (row: L7Row) => void;
  onAppMetrics?: (row: AppMetricsRow) => void;
  /** Asked once per flow, at its first payload: ids and endpoints for the rows. */
  describeFlow: (flowSlot: number) => FlowMeta;
  /**
   * The same as numbers, for flows handed to the native row path (see flow-key.ts); without it
   * they are taken from describeFlow's text.
   */
  flowKey?: FlowKeyOf;
  /** Protocol names to run (default: all). */
  protocols?: readonly string[];
  /** A request without response for this long becomes a timeout row (default 30 s). */
  requestTimeoutUs?: number;
  /** Unanswered requests kept per flow (default 64); the oldest beyond it is reported unknown. */
  maxPendingPerFlow?: number;
  /** Bytes buffered per direction while a message is incomplete (default 64 KiB). */
  maxBufferPerDir?: number;
  /** Payload segments tried for detection before a flow is given up (default 4). */
  detectSegments?: number;
  /** Parse errors tolerated per flow before it is marked failed (default 8). */
  maxErrorsPerFlow?: number;
  /**
   * When given, HTTP/1 flows run on the native row path (./native/http1-rows.ts) unless
   * FLOWPLANE_L7_NATIVE=0 or the addon is unavailable (`nativeKind` says which): their
   * l7_flow_log and application_metrics rows arrive here as JSONL bytes (whole lines, each
   * ending "\n"; `b` is valid during the call only) instead of through onL7 / onAppMetrics.
   * Other protocols still use onL7 / onAppMetrics. With `fds` (the two files' descriptors,
   * O_APPEND) the native path runs on its own thread, which appends to them itself, unless
   * FLOWPLANE_L7_THREAD=0: the caller then reads its capture through `blockFence()`, and the
   * sinks get the rows' counts (no bytes) at flush(). The thread writes the two files through
   * the page cache until those writes turn slow, then with O_DIRECT where the file system takes
   * it (FLOWPLANE_L7_DIRECT: `slow` the default, `1` from the start, `0` never; `directSlow` is
   * NativeRowsConfig's, for tests).
   */
  rawRows?: { l7: RawSink; appMetrics: RawSink; fds?: [number, number]; directSlow?: [number, number] };
}

export interface L7Stats {
  flows: number;
  flowsDetected: number;
  flowsUnknown: number;
  flowsFailed: number;
  parseErrors: number;
  /** Exceptions caught around a parser (a bug: fuzzing keeps this at 0). */
  parserExceptions: number;
  gaps: number;
  /** Segments that arrived ahead of a hole and were held until it filled (or given up). */
  reordered: number;
  bufferOverflows: number;
  pendingOverflows: number;
  rows: number;
  timeouts: number;
  orphanResponses: number;
  byProtocol: Record<string, number>;
}

interface Pending {
  r: L7Request;
  ts: number;
  seq: number;
}

interface Held {
  data: Uint8Array;
  seq: number;
  ts: number;
}

/** Out-of-order segments kept per direction before the hole is declared lost. */
const MAX_HELD = 8;
/** Segments tried after a gap without finding a message boundary before errors count again. */
const MAX_RESYNC_SEGMENTS = 32;
let bits: { hint: Uint32Array; exclude: Uint32Array } | undefined;

/**
 * Per port, a bit per protocol (its index in PROTOCOLS) whose hint or exclusion lists hold it:
 * detection looks two ports up instead of searching every protocol's lists (made once).
 */
function portBits(): { hint: Uint32Array; exclude: Uint32Array } {
  if (bits === undefined) {
    if (PROTOCOLS.length > 32) throw new Error("portBits: more than 32 protocols");
    const hint = new Uint32Array(65536);
    const exclude = new Uint32Array(65536);
    PROTOCOLS.forEach((p, i) => {
      for (const port of p.ports) hint[port & 0xffff]! |= 1 << i;
      for (const port of p.excludePorts ?? []) exclude[port & 0xffff]! |= 1 << i;
    });
    bits = { hint, exclude };
  }
  return bits;
}

/** Slots below this are kept in an array (engine table indexes are below its flow limit). */
const SLOT_ARRAY = 1 << 22;
/**
 * Slots slotNat and slotProto have from the start (320 KiB): growing them later is a branch the
 * optimized detection has never taken, and deoptimized it (web-1m's slots passed 4096 part way
 * through the capture).
 */
const SLOTS_FIRST = 1 << 16;
/** How the native row thread read the capture (L7Processor.captureReads). */
export type L7CaptureReads = "blocks" | "file" | "file, then pread";
/** Native flow ids made at the start (see natIds): 32 KiB. */
const NAT_IDS_FIRST = 8192;
/** Header policy names the native path takes (its table's size, http1-rows-c.ts FP_MAX_NAMES). */
const MAX_NATIVE_NAMES = 256;
const NIL = "00000000-0000-0000-0000-000000000000";
/** 1 for the IP protocols whose payload is parsed here: TCP and UDP. */
const L7_TRANSPORT = new Uint8Array(256);
L7_TRANSPORT[6] = 1;
L7_TRANSPORT[17] = 1;
const FAILED = -2;
/** findProtocol's answer when no detector accepts the payload. */
const NOT_DETECTED = -1;
/** natFirst's answers besides findProtocol's: it did not look, or the flow went native. */
const NOT_TRIED = -3;
const OPENED = -4;
const UNDETECTED = -1;

/**
 * Per direction, what a parser here needs of a TCP stream: made only when a flow gets a JS parser
 * (most flows of an HTTP-heavy capture go to the native path and never need it).
 */
class FlowStreams {
  /** A direction that never finds a boundary again must not be reset by the other. */
  readonly resyncFails = [0, 0];
  readonly next = [0, 0];
  readonly hasNext = [false, false];
  readonly buf: (Uint8Array | null)[] = [null, null];
  readonly bufLen = [0, 0];
  readonly bufSeq = [0, 0];
  readonly skip = [0, 0];
  readonly resync = [false, false];
}

class FlowL7 {
  proto = UNDETECTED;
  /** The detected protocol's name ("" until then): read for every L4 and L7 row of the flow. */
  protoName = "";
  parser: L7Parser | null = null;
  swapped = 0;
  tries = 0;
  errors = 0;
  /** Stream state for a parser here (null for flows on the native path or not detected yet). */
  io: FlowStreams | null = null;
  pending: Pending[] = [];
  /**
   * Application-metrics server id (ip|port|protocol of `mKeyProto`), found once per flow, valid
   * for the metrics' `epoch`.
   */
  mEpoch = -1;
  mSrv = 0;
  mKeyProto = "";
  /** Out-of-order segments per direction, waiting for the hole before them. */
  held: Held[][] | null = null;
  lastTs = 0;
  /** In `withPending` (left there until a tick or the flow's end finds nothing pending). */
  listed = false;
  /** The flow's id in the native row path, or -1 when it is parsed here. */
  nat = -1;
  constructor(
    readonly slot: number,
    readonly meta: FlowMeta,
    /** Creation order (flush() ends flows in it). */
    readonly seq: number,
  ) {}
}

export class L7Processor {
  /**
   * Flows by the engine's slot (a table index): an array below SLOT_ARRAY, where a Map cost more
   * (a set and a delete per flow, a lookup per payload), and a Map above it.
   */
  private readonly bySlot: (FlowL7 | undefined)[] = [];
  private readonly bigSlots = new Map<number, FlowL7>();
  /**
   * Per slot below SLOT_ARRAY: a native flow's code (natCode; 0: none), and the detected
   * protocol (its index in `specs` + 1; 0: none). A native flow's payloads and end, and every
   * flow's L4 row, are served from these small arrays without reading the flow's FlowL7, which
   * is mostly out of the cache by then (thousands of flows are live at once).
   */
  private slotNat = new Int32Array(SLOTS_FIRST);
  private slotProto = new Uint8Array(SLOTS_FIRST);
  /** A native flow's creation order (its `seq`, for flush()) when it has no FlowL7 (see `openNative`). */
  private slotSeq = new Float64Array(SLOTS_FIRST);
  /** Flows in `bySlot` or only on the native path, and the creation counter that orders them at flush(). */
  private live = 0;
  private flowSeq = 0;
  private readonly withPending = new Set<FlowL7>();
  private readonly specs: ProtocolSpec[];
  /** Each spec's bit in portBits() (its index in PROTOCOLS). */
  private readonly specBits: number[];
  private readonly orgId: string;
  private readonly agentId: string;
  private readonly onL7: (r: L7Row) => void;
  private readonly metrics: AppMetrics;
  private readonly describe: (slot: number) => FlowMeta;
  private readonly timeoutUs: number;
  private readonly maxPending: number;
  private readonly maxBuf: number;
  private readonly detectSegments: number;
  private readonly maxErrors: number;
  private readonly s: L7Stats = {
    flows: 0,
    flowsDetected: 0,
    flowsUnknown: 0,
    flowsFailed: 0,
    parseErrors: 0,
    parserExceptions: 0,
    gaps: 0,
    reordered: 0,
    bufferOverflows: 0,
    pendingOverflows: 0,
    rows: 0,
    timeouts: 0,
    orphanResponses: 0,
    byProtocol: {},
  };
  /** The flow being parsed; the context below reports into it. */
  private cur: FlowL7 | null = null;
  private readonly ctx: ParseContext;
  /** The native HTTP/1 row path, when on; `nargs` is its shared argument array. */
  private readonly nat: NativeRows | null = null;
  private readonly nargs: Float64Array = new Float64Array(SEG_ARGS);
  /** A flow's numbers for its opening on the native path (KEY in flow-key.ts). */
  private readonly natKey = new Float64Array(KEY.size);
  /**
   * Native flow ids free for an opening (their flows' ends queued), a stack of natFreeN: every id
   * below natIds.length is in it or in use. Never empty at an opening (natMoreIds first), so the
   * optimized opening has one path: a branch for the first reuse, never taken while V8 learned,
   * deoptimized it (and openNative, which inlines it) on web-1m. NAT_IDS_FIRST ids from the
   * start: the first natMoreIds call ran before V8 kept feedback for the opening, and the next,
   * past 1024 live flows (web-1m has 6 k), deoptimized it again.
   */
  private natIds = new Int32Array(0);
  private natFreeN = 0;
  /** The array the native path was last given (segments of the same array skip that call). */
  private natBuf: Uint8Array | null = null;
  /**
   * Segments queued in `nargs` for one `segs()` call, and whether natBuf is a pinned block (its
   * bytes stay put until the fence says so, so its segments may wait in the queue).
   */
  private natQueued = 0;
  private natStable = false;
  /**
   * The capture file's reader when the native path reads the file itself (blockFence's
   * readsFile), and whether natBuf is that reader's buffer: its segments then go as file
   * offsets, `natFile.base + off`.
   */
  private natFile: ChunkedSource | null = null;
  private natFileBuf = false;
  /** The engine's flow numbers (flow-key.ts), or null: the native path's opens read a flow's FlowMeta. */
  private readonly flowKey: FlowKeyOf | null;
  /** "native" when HTTP/1 flows run on the native row path, else why they do not. */
  readonly nativeKind: string;
  /** The sinks, told the own thread's row counts at flush(), and the counts told so far. */
  private readonly raw: L7ProcessorOptions["rawRows"];
  private threadRowsReported = 0;
  private threadAmRowsReported = 0;

  constructor(o: L7ProcessorOptions) {
    const want = o.protocols ? new Set(o.protocols) : null;
    this.specs = PROTOCOLS.filter((p) => !want || want.has(p.name));
    this.specBits = this.specs.map((p) => 1 << PROTOCOLS.indexOf(p));
    this.orgId = o.orgId ?? NIL;
    this.agentId = o.agentId ?? NIL;
    this.onL7 = o.onL7 ?? (() => {});
    this.metrics = new AppMetrics(this.orgId, this.agentId, o.onAppMetrics ?? (() => {}));
    this.describe = o.describeFlow;
    this.flowKey = o.flowKey ?? null;
    this.timeoutUs = o.requestTimeoutUs ?? 30_000_000;
    // At least one: a request must wait somewhere for its answer (0 would drop every request).
    this.maxPending = Math.max(1, o.maxPendingPerFlow ?? 64);
    this.maxBuf = o.maxBufferPerDir ?? 64 * 1024;
    this.detectSegments = o.detectSegments ?? 4;
    this.maxErrors = o.maxErrorsPerFlow ?? 8;
    const self = this;
    const policy = new HeaderPolicyImpl(o);
    const idsJson = `"org_id":${JSON.stringify(this.orgId)},"agent_id":${JSON.stringify(this.agentId)}`;
    const names = policy.nativeNames();
    const addon = !o.rawRows
      ? "off (no raw row sink)"
      : !this.specs.includes(http1)
        ? "off (http not among the protocols)"
        : names.length > MAX_NATIVE_NAMES
          ? `off (more than ${MAX_NATIVE_NAMES} trace and request-id header names)`
          : nativeRowsAddon();
    this.raw = o.rawRows;
    if (typeof addon === "string") this.nativeKind = addon;
    else {
      this.nat = addon.create({
        ids: idsJson,
        timeoutUs: this.timeoutUs,
        maxPending: this.maxPending,
        maxBuf: this.maxBuf,
        maxErrors: this.maxErrors,
        maxKeys: 10_000,
        names,
        l7: o.rawRows!.l7,
        am: o.rawRows!.appMetrics,
        ...(o.rawRows!.fds && process.env.FLOWPLANE_L7_THREAD !== "0" ? { fds: o.rawRows!.fds } : {}),
        direct: directMode(process.env.FLOWPLANE_L7_DIRECT),
        ...(o.rawRows!.directSlow ? { directSlow: o.rawRows!.directSlow } : {}),
      });
      this.nargs = this.nat.args;
      this.natMoreIds();
      this.nativeKind = "native";
    }
    this.ctx = {
      ts: 0,
      seq: 0,
      headers: policy,
      request(r: L7Request) {
        self.request(r);
      },
      response(r: L7Response) {
        self.response(r);
      },
      oldestPendingType(): string {
        const p = self.cur?.pending;
        if (!p) return "";
        for (let i = 0; i < p.length; i++) if (p[i]!.r.key === undefined) return p[i]!.r.type ?? "";
        return "";
      },
    };
  }

  /**
   * The flow engine's hand-off of a decoded packet (`m`, in `buf` up to `frameEnd`) with payload:
   * a TCP segment's or UDP datagram's payload (of a first or only fragment), taken as onPayload
   * takes it. `dir` 0 = client→server. The checks are here, not in the engine's `update`, which inlines its
   * side of the call (see FlowEngine.toL7).
   */
  onPacket(
    slot: number,
    dir: number,
    m: PacketMeta,
    buf: Uint8Array,
    frameEnd: number,
    tsMicros: number,
  ): void {
    // A table, not `proto === 6 || proto === 17`: the first UDP payload (a DNS query, seconds
    // in) met a comparison without feedback and deoptimized the caller.
    const proto = m.proto;
    if (m.laterFragment !== 0 || L7_TRANSPORT[proto] !== 1) return;
    const off = m.payloadOffset;
    const wire = m.payloadLen;
    const avail = frameEnd - off;
    const len = avail <= 0 ? 0 : avail < wire ? avail : wire;
    const seq = proto === 6 ? m.seq : 0;
    // A native flow's segment goes to its queue here, and a flow's first one opens it there:
    // onPayload's first lines, repeated rather than shared. A call of a small shared function
    // made this one small enough for `update` to inline, and `update` then no longer inlined the
    // flow table's `unlink` (V8's inlining budget). On an HTTP-heavy capture `payload`, the JS
    // path, is never called, so never compiled.
    if (slot < this.slotNat.length) {
      const v = this.slotNat[slot]!;
      if (v !== 0) {
        this.natSeg(v, dir, buf, off, len, wire, seq, tsMicros);
        return;
      }
      const found = this.natFirst(slot, dir, buf, off, len);
      if (found === OPENED) this.natSeg(this.slotNat[slot]!, dir, buf, off, len, wire, seq, tsMicros);
      else this.payload(slot, dir, buf, off, len, wire, seq, tsMicros, found);
      return;
    }
    this.payload(slot, dir, buf, off, len, wire, seq, tsMicros, NOT_TRIED);
  }

  /**
   * One segment / datagram of payload. `dir` 0 = client→server as the engine sees it. `len`
   * bytes are captured at `buf[off..]`; `wireLen` is the payload length on the wire (larger on
   * snaplen-cut frames: the missing bytes count as a gap). For UDP pass tcpSeq 0.
   */
  onPayload(
    slot: number,
    dir: number,
    buf: Uint8Array,
    off: number,
    len: number,
    wireLen: number,
    tcpSeq: number,
    tsMicros: number,
  ): void {
    let found = NOT_TRIED;
    if (slot < this.slotNat.length) {
      const v = this.slotNat[slot]!;
      if (v !== 0) {
        this.natSeg(v, dir, buf, off, len, wireLen, tcpSeq, tsMicros);
        return;
      }
      found = this.natFirst(slot, dir, buf, off, len);
      if (found === OPENED) {
        this.natSeg(this.slotNat[slot]!, dir, buf, off, len, wireLen, tcpSeq, tsMicros);
        return;
      }
    }
    this.payload(slot, dir, buf, off, len, wireLen, tcpSeq, tsMicros, found);
  }

  /**
   * A flow not seen yet (in a slot of slotNat, not native yet) whose first payload tells a
   * protocol the native path parses goes there with no FlowL7 and no FlowMeta: on web-1m, 36 k
   * flows' objects and strings (kept until the flow's end, so promoted) cost the JS thread ~40
   * ms for nothing it reads. OPENED when it went; else findProtocol's answer, or NOT_TRIED.
   */
  private natFirst(slot: number, dir: number, buf: Uint8Array, off: number, len: number): number {
    const k = this.natKey;
    if (this.nat === null || this.flowKey === null || len <= 0 || this.flowAt(slot) !== undefined)
      return NOT_TRIED;
    if (!this.flowKey(slot, k)) return NOT_TRIED;
    const found = this.findProtocol(
      k[KEY.serverPort]!,
      k[KEY.clientPort]!,
      k[KEY.proto] === 17,
      buf,
      off,
      off + len,
    );
    return found >= 0 && this.openNative(slot, dir, found) ? OPENED : found;
  }

  /**
   * onPayload past the native path's queue: a segment of a flow parsed here (made when new), or
   * the first ones of a flow not detected yet. `found` is natFirst's answer for this segment.
   */
  private payload(
    slot: number,
    dir: number,
    buf: Uint8Array,
    off: number,
    len: number,
    wireLen: number,
    tcpSeq: number,
    tsMicros: number,
    found: number,
  ): void {
    let f = this.flowAt(slot);
    if (f === undefined) {
      f = new FlowL7(slot, this.describe(slot), this.flowSeq++);
      if (slot < SLOT_ARRAY) this.bySlot[slot] = f;
      else this.bigSlots.set(slot, f);
      this.live++;
      this.s.flows++;
    }
    if (f.nat >= 0) {
      this.natSeg(natCode(f), dir, buf, off, len, wireLen, tcpSeq, tsMicros);
      return;
    }
    if (f.proto === FAILED) return;
    f.lastTs = tsMicros;
    const udp = f.meta.ipProtocol === 17;
    if (f.parser === null) {
      if (len <= 0) return;
      if (!this.detect(f, dir, buf, off, off + len, udp, found)) return;
      if (f.nat >= 0) {
        this.natSeg(natCode(f), dir, buf, off, len, wireLen, tcpSeq, tsMicros);
        return;
      }
    }
    const d = (dir ^ f.swapped) as 0 | 1;
    this.cur = f;
    this.ctx.ts = tsMicros;
    try {
      if (udp) {
        this.ctx.seq = 0;
        const n = f.parser!.parse(this.ctx, d, buf, off, off + len);
        if (n < 0) this.error(f);
        return;
      }
      const io = f.io!;
      if (io.hasNext[d] && len === wireLen) {
        const delta = (tcpSeq - io.next[d]!) | 0;
        // Ahead of what is expected: hold it (copied, bounded) until the hole fills.
        if (delta > 0 && this.hold(f, d, buf, off, len, tcpSeq, tsMicros)) return;
        if (delta > 0) this.flushHeld(f, d);
      }
      this.segment(f, d, buf, off, len, wireLen, tcpSeq, tsMicros);
      if (f.held !== null && f.held[d]!.length > 0) this.drainHeld(f, d);
    } catch {
      // A parser bug must never take the engine down: the flow is given up and counted.
      this.s.parserExceptions++;
      this.fail(f);
    } finally {
      this.cur = null;
    }
  }

  /** `code`: the flow's natCode. */
  private natSeg(
    code: number,
    dir: number,
    buf: Uint8Array,
    off: number,
    len: number,
    wireLen: number,
    tcpSeq: number,
    ts: number,
  ): void {
    if (buf !== this.natBuf) {
      this.natSegs();
      this.natBuf = buf;
      const file = this.natFile;
      this.natFileBuf = file !== null && buf === file.buf;
      if (this.natFileBuf) {
        this.nat!.bufFile();
        this.natStable = true;
      } else this.natStable = this.nat!.buf(buf);
    }
    const a = this.nargs;
    const i = this.natQueued * SEG_ARGS;
    a[i] = (code - 1) >> 1;
    a[i + 1] = dir ^ ((code - 1) & 1);
    a[i + 2] = this.natFileBuf ? this.natFile!.base + off : off;
    a[i + 3] = len;
    a[i + 4] = wireLen;
    a[i + 5] = tcpSeq;
    a[i + 6] = ts;
    if (++this.natQueued === SEG_BATCH || !this.natStable) this.natSegs();
  }

  /** Twice the native flow ids (all in use): the new ones free, lowest on top. */
  private natMoreIds(): void {
    const n = this.natIds.length;
    const more = new Int32Array(Math.max(NAT_IDS_FIRST, n * 2));
    for (let id = more.length - 1; id >= n; id--) more[this.natFreeN++] = id;
    this.natIds = more;
  }

  /** Hands the queued segments to the native path: before any other call to it, which may depend on them. */
  private natSegs(): void {
    const n = this.natQueued;
    if (n === 0) return;
    this.natQueued = 0;
    this.nat!.segs(n);
  }

  /**
   * Hands a flow just detected as HTTP/1 (NATIVE_HTTP), Redis (NATIVE_REDIS), PostgreSQL
   * (NATIVE_PG) or DNS over UDP (NATIVE_DNS) to the native path, which makes its fixed row bytes;
   * false (the flow stays here) for a FlowMeta whose text the native path would not write the
   * same (flow-key.ts).
   */
  private natOpen(f: FlowL7, kind: number): boolean {
    // The FlowMeta's text, not the engine's numbers now: the flow's rows name its sides as then.
    if (!keyFromMeta(f.meta, this.natKey)) return false;
    f.nat = this.natOpenKey(f.swapped, kind);
    if (this.slotFits(f.slot)) this.slotNat[f.slot] = natCode(f);
    return true;
  }

  /**
   * Opens the flow whose numbers are in `natKey` (its sides exchanged first when `swapped`) on
   * the native path: queued with its segments, as two records; its id there.
   */
  private natOpenKey(swapped: number, kind: number): number {
    const k = this.natKey;
    if (swapped !== 0) swapKey(k);
    if (this.natFreeN === 0) this.natMoreIds();
    const id = this.natIds[--this.natFreeN]!;
    if (this.natQueued > SEG_BATCH - 2) this.natSegs();
    const a = this.nargs;
    const i = this.natQueued * SEG_ARGS;
    a[i] = id;
    a[i + 1] = SEG_OPEN;
    a[i + 2] = kind;
    for (let j = 0; j < KEY.clientPort; j++) a[i + 3 + j] = k[j]!;
    a[i + 15] = k[KEY.clientPort]! * 65536 + k[KEY.serverPort]!;
    this.natQueued += 2;
    if (this.natQueued === SEG_BATCH) this.natSegs();
    return id;
  }

  /** In-order processing of one segment: drop what was already seen, note what was lost. */
  private segment(
    f: FlowL7,
    d: 0 | 1,
    buf: Uint8Array,
    off: number,
    len: number,
    wireLen: number,
    tcpSeq: number,
    ts: number,
  ): void {
    const io = f.io!;
    if (f.proto === FAILED) return;
    this.ctx.ts = ts;
    if (io.hasNext[d]) {
      const delta = (tcpSeq - io.next[d]!) | 0;
      if (delta < 0) {
        if (delta + wireLen <= 0) return;
        off -= delta;
        len += delta;
        wireLen += delta;
        tcpSeq = io.next[d]!;
        if (len <= 0) {
          io.next[d] = (tcpSeq + wireLen) | 0;
          this.gap(f, d);
          return;
        }
      } else if (delta > 0) this.gap(f, d);
    }
    io.hasNext[d] = true;
    io.next[d] = (tcpSeq + wireLen) | 0;
    if (len > 0) this.feed(f, d, buf, off, len, tcpSeq);
    if (len < wireLen) this.gap(f, d);
  }

  private hold(
    f: FlowL7,
    d: 0 | 1,
    buf: Uint8Array,
    off: number,
    len: number,
    seq: number,
    ts: number,
  ): boolean {
    if (f.held === null) f.held = [[], []];
    const h = f.held[d]!;
    let bytes = len;
    for (const x of h) bytes += x.data.length;
    if (h.length >= MAX_HELD || bytes > this.maxBuf) return false;
    // A copy: the caller's buffer (a Buffer whose .slice is a view) is reused after the call.
    const data = new Uint8Array(len);
    data.set(buf.subarray(off, off + len));
    h.push({ data, seq, ts });
    this.s.reordered++;
    return true;
  }

  /** Processes held segments that the stream has reached (or passed). */
  private drainHeld(f: FlowL7, d: 0 | 1): void {
    const io = f.io!;
    const h = f.held![d]!;
    for (let again = true; again && h.length > 0; ) {
      again = false;
      for (let i = 0; i < h.length; i++) {
        const x = h[i]!;
        if (((x.seq - io.next[d]!) | 0) <= 0) {
          h.splice(i, 1);
          this.segment(f, d, x.data, 0, x.data.length, x.data.length, x.seq, x.ts);
          again = true;
          break;
        }
      }
    }
  }

  /** Gives up waiting: held segments go through in sequence order, holes count as gaps. */
  private flushHeld(f: FlowL7, d: 0 | 1): void {
    if (f.held === null) return;
    const h = f.held[d]!;
    if (h.length === 0) return;
    h.sort((a, b) => (a.seq - b.seq) | 0);
    f.held[d] = [];
    for (const x of h) this.segment(f, d, x.data, 0, x.data.length, x.data.length, x.seq, x.ts);
  }

  /**
   * Which protocol a flow's payload [off, end) is: its index in `specs` * 4 + the detector's
   * answer (1 = a client's message, 2 = a server's), or NOT_DETECTED.
   */
  private findProtocol(
    port: number,
    cport: number,
    udp: boolean,
    b: Uint8Array,
    off: number,
    end: number,
  ): number {
    // Port hints order the candidates; every detector still checks the payload.
    const { hint, exclude } = portBits();
    const hinted0 = hint[port]! | hint[cport]!;
    const excluded = exclude[port]! | exclude[cport]!;
    const specs = this.specs;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < specs.length; k++) {
        const p = specs[k]!;
        if (p.transport !== "both" && (p.transport === "udp") !== udp) continue;
        const bit = this.specBits[k]!;
        if ((excluded & bit) !== 0) continue;
        const hinted = (hinted0 & bit) !== 0;
        if ((pass === 0) !== hinted) continue;
        const r = p.detect(b, off, end, udp, hinted);
        if (r !== 0) return k * 4 + r;
      }
    }
    return NOT_DETECTED;
  }

  /**
   * Detection on a flow's payload: the parser, or the native path, is chosen. `tried` is
   * findProtocol's answer when the caller has it already, else NOT_TRIED.
   */
  private detect(
    f: FlowL7,
    dir: number,
    b: Uint8Array,
    off: number,
    end: number,
    udp: boolean,
    tried: number,
  ): boolean {
    const found =
      tried !== NOT_TRIED ? tried : this.findProtocol(f.meta.serverPort, f.meta.clientPort, udp, b, off, end);
    if (found < 0) {
      if (++f.tries >= this.detectSegments) {
        f.proto = FAILED;
        this.s.flowsUnknown++;
      }
      return false;
    }
    const spec = this.specs[found >> 2]!;
    const side = found & 3;
    this.detected(f.slot, spec, found >> 2);
    f.protoName = spec.name;
    f.proto = found >> 2;
    // side 1 = client message: fine when seen from dir 0; the other three cases decide the swap.
    f.swapped = (side === 1 ? dir : dir ^ 1) as 0 | 1;
    const kind = this.nat !== null ? nativeKind(spec, udp) : -1;
    if (kind < 0 || !this.natOpen(f, kind)) {
      f.io = new FlowStreams();
      f.parser = spec.create(udp);
    }
    return true;
  }

  /** A flow's protocol found: counted, and noted for its L4 row. */
  private detected(slot: number, spec: ProtocolSpec, k: number): void {
    if (this.slotFits(slot)) this.slotProto[slot] = k + 1;
    this.s.flowsDetected++;
    this.s.byProtocol[spec.name] = (this.s.byProtocol[spec.name] ?? 0) + 1;
  }

  /**
   * A flow not seen yet, detected (`found`) at its first payload from `dir`, whose numbers are in
   * the native path's key: opened there without a FlowL7 when its protocol is parsed there
   * (false otherwise: the caller goes on).
   */
  private openNative(slot: number, dir: number, found: number): boolean {
    const spec = this.specs[found >> 2]!;
    const kind = nativeKind(spec, this.natKey[KEY.proto] === 17);
    if (kind < 0 || !this.slotFits(slot)) return false;
    // One XOR either way: `dir ^ 1` alone in a branch met the first response-first flow
    // without feedback and deoptimized this function.
    const swapped = dir ^ ((found & 3) === 1 ? 0 : 1);
    const id = this.natOpenKey(swapped, kind);
    this.detected(slot, spec, found >> 2);
    this.slotNat[slot] = id * 2 + swapped + 1;
    this.slotSeq[slot] = this.flowSeq++;
    this.live++;
    this.s.flows++;
    return true;
  }

  private feed(f: FlowL7, d: 0 | 1, b: Uint8Array, off: number, len: number, seq: number): void {
    const io = f.io!;
    const skip = io.skip[d]!;
    if (skip > 0) {
      const k = skip < len ? skip : len;
      io.skip[d] = skip - k;
      off += k;
      len -= k;
      seq = (seq + k) | 0;
      if (len === 0) return;
    }
    let win: Uint8Array = b;
    let pos = off;
    let end = off + len;
    let wseq = seq;
    if (io.bufLen[d]! > 0) {
      const have = io.bufLen[d]!;
      if (have + len > this.maxBuf) {
        this.s.bufferOverflows++;
        this.gap(f, d);
      } else {
        let bb = io.buf[d]!;
        if (bb.length < have + len) {
          const nb = new Uint8Array(Math.min(this.maxBuf, Math.max(have + len, bb.length * 2)));
          nb.set(bb.subarray(0, have));
          bb = nb;
          io.buf[d] = bb;
        }
        bb.set(b.subarray(off, off + len), have);
        win = bb;
        pos = 0;
        end = have + len;
        wseq = io.bufSeq[d]!;
      }
    }
    const parser = f.parser!;
    const ctx = this.ctx;
    while (pos < end) {
      ctx.seq = wseq;
      const n = parser.parse(ctx, d, win, pos, end);
      if (n === 0) break;
      if (n < 0) {
        // Outside resync every failure counts; while resynchronising after lost bytes a
        // failure is expected, but a stream that never finds a boundary again is given up too.
        if (!io.resync[d] || ++io.resyncFails[d]! > MAX_RESYNC_SEGMENTS) this.error(f);
        pos = end;
        if (f.proto === FAILED) return;
        // Wait for a segment that starts a message again.
        io.resync[d] = true;
        parser.onGap?.(d);
        break;
      }
      io.resync[d] = false;
      io.resyncFails[d] = 0;
      const avail = end - pos;
      if (n >= avail) {
        io.skip[d] = n - avail;
        pos = end;
        break;
      }
      pos += n;
      wseq = (wseq + n) | 0;
    }
    const rest = end - pos;
    if (rest === 0) {
      io.bufLen[d] = 0;
      if (win === io.buf[d] && win.length > 4096) io.buf[d] = null;
      return;
    }
    if (rest > this.maxBuf) {
      this.s.bufferOverflows++;
      this.gap(f, d);
      return;
    }
    let bb = io.buf[d] ?? null;
    if (bb !== null && win === bb) {
      if (pos > 0) bb.copyWithin(0, pos, end);
    } else {
      if (bb === null || bb.length < rest) {
        bb = new Uint8Array(Math.min(this.maxBuf, Math.max(rest, 1024)));
        io.buf[d] = bb;
      }
      bb.set(win.subarray(pos, end), 0);
    }
    io.bufLen[d] = rest;
    io.bufSeq[d] = wseq;
  }

  /** Bytes lost in a direction: buffered partial data is useless, parsers resynchronise. */
  private gap(f: FlowL7, d: 0 | 1): void {
    const io = f.io!;
    this.s.gaps++;
    io.bufLen[d] = 0;
    io.skip[d] = 0;
    io.resync[d] = true;
    f.parser?.onGap?.(d);
  }

  private error(f: FlowL7): void {
    this.s.parseErrors++;
    if (++f.errors > this.maxErrors) this.fail(f);
  }

  private fail(f: FlowL7): void {
    if (f.proto === FAILED) return;
    f.proto = FAILED;
    f.parser = null;
    if (f.io !== null) f.io.buf[0] = f.io.buf[1] = null;
    this.s.flowsFailed++;
  }

  private request(r: L7Request): void {
    const f = this.cur!;
    const ts = r.ts ?? this.ctx.ts;
    const seq = r.seq ?? this.ctx.seq;
    if (r.oneWay) {
      this.emit(f, r, ts, seq, null, ts, 0, "ok");
      return;
    }
    if (f.pending.length >= this.maxPending) {
      const old = f.pending.shift()!;
      this.s.pendingOverflows++;
      this.emit(f, old.r, old.ts, old.seq, null, old.ts, 0, "unknown");
    }
    f.pending.push({ r, ts, seq });
    if (!f.listed) {
      f.listed = true;
      this.withPending.add(f);
    }
  }

  private response(r: L7Response): void {
    const f = this.cur!;
    const ts = r.ts ?? this.ctx.ts;
    const seq = r.seq ?? this.ctx.seq;
    const p = f.pending;
    let idx = -1;
    for (let i = 0; i < p.length; i++) {
      if (p[i]!.r.key === r.key) {
        idx = i;
        break;
      }
    }
    if (idx < 0) {
      this.s.orphanResponses++;
      this.emit(f, null, ts, 0, r, ts, seq, r.status);
      return;
    }
    // The flow stays in withPending: a Set delete + add per exchange cost more than a tick's
    // look at a flow with nothing pending.
    const q = idx === 0 ? p.shift()! : p.splice(idx, 1)[0]!;
    this.emit(f, q.r, q.ts, q.seq, r, ts, seq, r.status);
  }

  private emit(
    f: FlowL7,
    q: L7Request | null,
    qts: number,
    qseq: number,
    r: L7Response | null,
    rts: number,
    rseq: number,
    status: ResponseStatus,
  ): void {
    const m = f.meta;
    const t = q?.trace;
    const row: L7Row = {
      flow_id: m.flowId,
      org_id: this.orgId,
      agent_id: this.agentId,
      start_time: q ? qts : rts,
      // A timeout ends where expire() says (the flow's last payload, capped at the timeout).
      end_time: r || status === "timeout" ? Math.max(rts, qts) : q ? qts : rts,
      client_ip: m.clientIp,
      client_port: m.clientPort,
      server_ip: m.serverIp,
      server_port: m.serverPort,
      ip_protocol: m.ipProtocol,
      l7_protocol: r?.protocol ?? q?.protocol ?? f.protoName,
      version: q?.version ?? r?.version ?? "",
      request_type: q?.type ?? r?.type ?? "",
      request_domain: q?.domain ?? r?.domain ?? "",
      request_resource: q?.resource ?? r?.resource ?? "",
      endpoint: q?.endpoint ?? r?.endpoint ?? "",
      request_length: q?.length ?? 0,
      response_length: r?.length ?? 0,
      response_status: status,
      response_code: r?.code ?? 0,
      response_exception: r?.exception ?? "",
      response_duration_us: q && r ? Math.max(0, rts - qts) : 0,
      trace_id: t?.traceId ?? "",
      span_id: t?.spanId ?? "",
      parent_span_id: t?.parentSpanId ?? "",
      x_request_id: t?.xRequestId ?? "",
      req_tcp_seq: q ? qseq >>> 0 : 0,
      resp_tcp_seq: r ? rseq >>> 0 : 0,
    };
    if (f.swapped) {
      row.client_ip = m.serverIp;
      row.client_port = m.serverPort;
      row.server_ip = m.clientIp;
      row.server_port = m.clientPort;
    }
    this.s.rows++;
    if (status === "timeout") this.s.timeouts++;
    const metrics = this.metrics;
    if (f.mEpoch !== metrics.epoch) {
      f.mEpoch = metrics.epoch;
      f.mKeyProto = "";
    }
    if (f.mKeyProto !== row.l7_protocol) {
      f.mKeyProto = row.l7_protocol;
      f.mSrv = metrics.serverId(row);
    }
    metrics.add(row, f.mSrv);
    this.onL7(row);
  }

  private liveFlows(): FlowL7[] {
    const out: FlowL7[] = [];
    for (const f of this.bySlot) if (f !== undefined) out.push(f);
    for (const f of this.bigSlots.values()) out.push(f);
    return out;
  }

  /**
   * The flow in `slot`, if any. Slots past the array's end never had one: reading there is out
   * of bounds, which deoptimized the callers the first time (flows that end without payload).
   */
  private flowAt(slot: number): FlowL7 | undefined {
    if (slot < SLOT_ARRAY) return slot < this.bySlot.length ? this.bySlot[slot] : undefined;
    return this.bigSlots.get(slot);
  }

  /** Whether `slot` has a place in slotNat and slotProto (grown to it when below SLOT_ARRAY). */
  private slotFits(slot: number): boolean {
    if (slot >= SLOT_ARRAY) return false;
    if (slot >= this.slotNat.length) {
      const n = Math.min(SLOT_ARRAY, (slot + 1) * 2);
      const nat = new Int32Array(n);
      nat.set(this.slotNat);
      this.slotNat = nat;
      const proto = new Uint8Array(n);
      proto.set(this.slotProto);
      this.slotProto = proto;
      const seq = new Float64Array(n);
      seq.set(this.slotSeq);
      this.slotSeq = seq;
    }
    return true;
  }

  /** The detected protocol of a flow ("" when unknown or not seen): for the L4 row. */
  protocolOf(slot: number): string {
    if (slot < this.slotProto.length) {
      const p = this.slotProto[slot]!;
      return p === 0 ? "" : this.specs[p - 1]!.name;
    }
    const f = this.flowAt(slot);
    return f === undefined ? "" : f.protoName;
  }

  /** The flow ended (closed or evicted): unanswered requests become timeout rows. */
  onFlowEnd(slot: number, tsMicros: number): void {
    if (slot < this.slotNat.length) {
      this.slotProto[slot] = 0;
      const v = this.slotNat[slot]!;
      if (v !== 0) {
        this.slotNat[slot] = 0;
        // Only a flow detected after its first payload has a FlowL7 (openNative): a store past
        // the array's end would grow it, with holes.
        if (slot < this.bySlot.length) this.bySlot[slot] = undefined;
        this.live--;
        this.natEnd((v - 1) >> 1, tsMicros);
        return;
      }
    }
    const f = this.flowAt(slot);
    if (f === undefined) return;
    if (slot < SLOT_ARRAY) this.bySlot[slot] = undefined;
    else this.bigSlots.delete(slot);
    this.live--;
    if (f.nat >= 0) {
      this.natEnd(f.nat, tsMicros);
      return;
    }
    if (f.held !== null) {
      this.cur = f;
      try {
        this.flushHeld(f, 0);
        this.flushHeld(f, 1);
      } catch {
        this.s.parserExceptions++;
        this.fail(f);
      } finally {
        this.cur = null;
      }
    }
    this.expire(f, tsMicros, true);
  }

  /** A native flow's end, after its queued segments, in the same queue. */
  private natEnd(id: number, tsMicros: number): void {
    const a = this.nargs;
    const i = this.natQueued * SEG_ARGS;
    a[i] = id;
    a[i + 1] = SEG_END;
    a[i + 6] = tsMicros;
    // Free for the next opening: the C runs this end before it.
    this.natIds[this.natFreeN++] = id;
    if (++this.natQueued === SEG_BATCH) this.natSegs();
  }

  private expire(f: FlowL7, now: number, all: boolean): void {
    const p = f.pending;
    while (p.length > 0 && (all || now - p[0]!.ts >= this.timeoutUs)) {
      const q = p.shift()!;
      // Ends at the flow's last payload, capped at the timeout: from the flow's own packets
      // only, so every shard (whatever its clock, tick or flow end) gives the same end time.
      const end = Math.max(q.ts, Math.min(f.lastTs, q.ts + this.timeoutUs));
      this.emit(f, q.r, q.ts, q.seq, null, end, 0, "timeout");
    }
    if (p.length === 0 && f.listed) {
      f.listed = false;
      this.withPending.delete(f);
    }
  }

  /** Advance the clock: request timeouts and finished metric seconds. Call about once a second. */
  tick(nowMicros: number): void {
    for (const f of this.withPending) this.expire(f, nowMicros, false);
    this.metrics.tick(nowMicros);
    if (this.nat !== null) {
      this.natSegs();
      this.nat.tick(nowMicros);
    }
  }

  /** End of input: every flow ends, metrics are written. */
  flush(nowMicros: number): void {
    // In the order the flows began, as the rows of a flow-by-flow end have always come.
    const all: { seq: number; slot: number }[] = this.liveFlows();
    // Native flows opened without a FlowL7 (openNative).
    const codes = this.slotNat;
    for (let slot = 0; slot < codes.length; slot++)
      if (codes[slot] !== 0 && this.flowAt(slot) === undefined) all.push({ seq: this.slotSeq[slot]!, slot });
    all.sort((a, b) => a.seq - b.seq);
    for (const f of all) this.onFlowEnd(f.slot, nowMicros);
    this.metrics.flush();
    const nat = this.nat;
    if (nat === null) return;
    this.natSegs();
    nat.flush();
    if (!nat.threaded) return;
    // The thread has written everything: its row counts go to the sinks.
    const n = nat.stats();
    const errno = n[STAT.writeErrno]!;
    if (errno !== 0) {
      const [code] = errnoText(errno);
      throw new Error(
        `l7_flow_log / application_metrics: the native row thread's write failed (${code}, errno ${errno}): check the output directory's disk space and permissions`,
      );
    }
    const empty = new Uint8Array(0);
    this.raw!.l7(empty, 0, n[STAT.rows]! - this.threadRowsReported);
    this.raw!.appMetrics(empty, 0, n[STAT.appMetricsRows]! - this.threadAmRowsReported);
    this.threadRowsReported = n[STAT.rows]!;
    this.threadAmRowsReported = n[STAT.appMetricsRows]!;
  }

  /**
   * With the native path on its own thread: how the capture reader keeps its blocks unchanged
   * while the thread may still read segments in them (by pointer, not copied); else undefined.
   */
  blockFence(): BlockFence | undefined {
    const nat = this.nat;
    if (nat === null || !nat.threaded) return undefined;
    // The native side holds a reference to each pinned block: they outlive the reader.
    return {
      pin: (b) => nat.pin(b),
      // FLOWPLANE_L7_FILE=0: through the pinned blocks even where the file could be read.
      readsFile: (fd: number, size: number, src: ChunkedSource) => {
        if (process.env.FLOWPLANE_L7_FILE === "0" || !nat.readFile(fd, size)) return false;
        this.natFile = src;
        return true;
      },
      region: (n) => nat.region(n),
      // The block's segments go out before its mark.
      mark: () => {
        this.natSegs();
        return nat.mark();
      },
      waitFor: (m) => nat.waitFor(m),
      passed: (m) => nat.passed(m),
    };
  }

  /**
   * With the native path on its own thread: a sink through which that thread also writes the JS
   * JSONL writers' chunks (see JsonlWriter.useSink); else undefined.
   */
  chunkSink(): ChunkSink | undefined {
    const nat = this.nat;
    if (nat === null || !nat.threaded) return undefined;
    return {
      write: (fd, b, len) => nat.wchunk(fd, b, len),
      wait: (seq) => nat.waitFor(seq),
      failure: (fd) => {
        const errno = nat.wfail(fd);
        if (errno === 0) return undefined;
        const [code, text] = errnoText(errno);
        return { fd, message: `${code}: ${text}, write`, code, errno: -errno, syscall: "write" };
      },
    };
  }

  /** What the processor holds right now (bounded by the options): for tests and health lines. */
  footprint(): {
    flows: number;
    bufferedBytes: number;
    heldBytes: number;
    pending: number;
    maxPendingPerFlow: number;
  } {
    let bufferedBytes = 0;
    let heldBytes = 0;
    let pending = 0;
    let maxPendingPerFlow = 0;
    for (const f of this.liveFlows()) {
      bufferedBytes += (f.io?.buf[0]?.length ?? 0) + (f.io?.buf[1]?.length ?? 0);
      if (f.held) for (const h of f.held) for (const x of h) heldBytes += x.data.length;
      pending += f.pending.length;
      if (f.pending.length > maxPendingPerFlow) maxPendingPerFlow = f.pending.length;
    }
    if (this.nat !== null) {
      this.natSegs();
      const n = this.nat.stats();
      bufferedBytes += n[STAT.bufferedBytes]!;
      heldBytes += n[STAT.heldBytes]!;
      pending += n[STAT.pending]!;
      maxPendingPerFlow = Math.max(maxPendingPerFlow, n[STAT.maxPendingPerFlow]!);
    }
    return { flows: this.live, bufferedBytes, heldBytes, pending, maxPendingPerFlow };
  }

  /**
   * Whether the native row thread writes its files with O_DIRECT (not through the page cache;
   * false on a file system that refuses it, or without the thread).
   */
  directOutput(): boolean {
    if (this.nat === null || !this.nat.threaded) return false;
    this.natSegs();
    return this.nat.stats()[STAT.directWrites] === 1;
  }
  /**
   * How the native row thread read the capture: "file" by itself (blockFence's readsFile),
   * "file, then pread" when another process asked to write the file meanwhile, else "blocks"
   * (the reader's pinned blocks, or no capture file).
   */
  captureReads(): L7CaptureReads {
    const n = this.nat?.threaded ? this.nat.stats()[STAT.fileRead] : 0;
    return n === 1 ? "file" : n === 2 ? "file, then pread" : "blocks";
  }

  stats(): L7Stats {
    const s = { ...this.s, byProtocol: { ...this.s.byProtocol }, flowsTracked: this.live } as L7Stats;
    if (this.nat !== null) {
      this.natSegs();
      const n = this.nat.stats();
      s.rows += n[STAT.rows]!;
      s.timeouts += n[STAT.timeouts]!;
      s.orphanResponses += n[STAT.orphanResponses]!;
      s.parseErrors += n[STAT.parseErrors]!;
      s.gaps += n[STAT.gaps]!;
      s.reordered += n[STAT.reordered]!;
      s.bufferOverflows += n[STAT.bufferOverflows]!;
      s.pendingOverflows += n[STAT.pendingOverflows]!;
      s.flowsFailed += n[STAT.flowsFailed]!;
    }
    return s;
  }
}

/** The name of an errno (ENOSPC) and its text, or "unknown". */
function errnoText(errno: number): [string, string] {
  return getSystemErrorMap().get(-errno) ?? ["unknown", "unknown error"];
}

/**
 * The native path's kind for a flow of protocol `p`, or -1 when it stays in JS: HTTP/1, Redis,
 * PostgreSQL and DNS over UDP go native (DNS over TCP stays here).
 */
function nativeKind(p: ProtocolSpec, udp: boolean): number {
  if (p === http1) return NATIVE_HTTP;
  if (p === redis) return NATIVE_REDIS;
  if (p === postgresql) return NATIVE_PG;
  return p === dns && udp ? NATIVE_DNS : -1;
}

/** A native flow's code in slotNat: its native id and orientation, never 0. */
function natCode(f: FlowL7): number {
  return f.nat * 2 + f.swapped + 1;
}

/** FLOWPLANE_L7_DIRECT: the row thread's O_DIRECT output (see NativeRowsConfig.direct). */
const DIRECT_MODES: Record<string, number> = { "0": -1, "1": 1, slow: 0 };

function directMode(v: string | undefined): number {
  if (v === undefined || v === "") return 0;
  const m = DIRECT_MODES[v];
  if (m === undefined) throw new Error(`FLOWPLANE_L7_DIRECT must be 0, 1 or slow (got ${JSON.stringify(v)})`);
  return m;
}
