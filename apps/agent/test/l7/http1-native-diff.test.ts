/**
 * Differential fuzz: the native HTTP/1 row path (rows as JSONL bytes through `rawRows`) against
 * the JS path, the reference. Two processors of the same options get the same seeded HTTP/1
 * traffic (./http1-traffic-gen.ts: many flows, damaged segments, ticks, flow ends) and must
 * give the same l7_flow_log bytes in the same order, the same application_metrics bytes and
 * the same stats (and protocolOf, footprint). Rows of flows another protocol took (garbage
 * first; Redis, also native, aside) still go through onL7 / onAppMetrics on both sides and are
 * compared there; with such
 * flows application_metrics is compared as sums per key, since A's one aggregator then flushes
 * at other moments than B's two.
 *
 * A failure prints the first differing row pair with its neighbours, the segment that made A's
 * row, the flow alone (does it still differ?) and a shrunk segment list, and writes that flow
 * to a JSON file. Knobs: FLOWPLANE_DIFF_SEED (base seed), FLOWPLANE_DIFF_OPTS (one option set),
 * FLOWPLANE_DIFF_ROUNDS (seeds per set, for a longer hunt) or FLOWPLANE_DIFF_ROUND (one of
 * them), FLOWPLANE_DIFF_FLOWS (flows per case), FLOWPLANE_DIFF_FLOW (one flow, alone),
 * FLOWPLANE_DIFF_LONG (messages in the long run), FLOWPLANE_DIFF_KNOWN=1 (sets skipped as known
 * differences run too), FLOWPLANE_DIFF_SELFTEST (below).
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keyFromMeta } from "../../src/l7/flow-key.ts";
import { createL7Processor, type L7ProcessorOptions } from "../../src/l7/index.ts";
import type { L7Processor } from "../../src/l7/processor.ts";
import type { FlowMeta } from "../../src/l7/types.ts";
import { type Event, eventsOf, type GenConfig, type GenFlow, genFlow, Rng } from "./http1-traffic-gen.ts";

interface RawRows {
  l7(b: Uint8Array, len: number, rows: number): void;
  appMetrics(b: Uint8Array, len: number, rows: number): void;
}
/** Processor options, and how often the driver ticks (µs of capture time; default a second). */
type Opts = Omit<L7ProcessorOptions, "describeFlow" | "onL7" | "onAppMetrics"> & { tickUs?: number };

const T0 = 1_700_000_000_000_000;
const env = process.env;
const SEED = env.FLOWPLANE_DIFF_SEED ? Number(env.FLOWPLANE_DIFF_SEED) >>> 0 : 0x5eed0001;
/** Flows per case (default: the set's own count, else 150). */
const FLOWS = env.FLOWPLANE_DIFF_FLOWS ? Number(env.FLOWPLANE_DIFF_FLOWS) : 0;
const LONG = env.FLOWPLANE_DIFF_LONG ? Number(env.FLOWPLANE_DIFF_LONG) : 200_000;
const ONLY_FLOW = env.FLOWPLANE_DIFF_FLOW ? Number(env.FLOWPLANE_DIFF_FLOW) : -1;
/** Seeds per option set (more for a longer hunt). */
const ROUNDS = env.FLOWPLANE_DIFF_ROUNDS ? Number(env.FLOWPLANE_DIFF_ROUNDS) : 1;
/** One round only (as a failure report names it). */
const ROUND = env.FLOWPLANE_DIFF_ROUND ? Number(env.FLOWPLANE_DIFF_ROUND) : -1;
/**
 * Checks this file: "1" routes B's http rows from onL7/onAppMetrics into its raw blocks when
 * B is not native (B is JS too, all must agree); "bug" also gives B other limits (and changes
 * its 404 rows when JS), to see a failure report.
 */
const SELFTEST = env.FLOWPLANE_DIFF_SELFTEST ?? "";
const ORG = "11111111-2222-3333-4444-555555555555";
const AGENT = "66666666-7777-8888-9999-aaaaaaaaaaaa";

/**
 * `known`: a difference reported to the lead and not yet decided; the set is skipped unless
 * FLOWPLANE_DIFF_KNOWN=1 (or it is asked for with FLOWPLANE_DIFF_OPTS).
 */
const OPTION_SETS: Record<
  string,
  { opts: Opts; gen: GenConfig; known?: string; t0?: number; flows?: number }
> = {
  defaults: { opts: {}, gen: { hostility: 1, extraHeaders: [] } },
  tight: {
    opts: {
      orgId: ORG,
      agentId: AGENT,
      requestTimeoutUs: 2_000_000,
      maxPendingPerFlow: 4,
      maxBufferPerDir: 8192,
      maxErrorsPerFlow: 2,
      detectSegments: 2,
    },
    gen: { hostility: 1, extraHeaders: [] },
  },
  "trace-config": {
    opts: {
      orgId: ORG,
      agentId: AGENT,
      traceHeaders: ["X-Trace-Id", "authorization", "x-amzn-trace-id"],
      requestIdHeaders: ["x-correlation-id", "X-Req"],
      requestTimeoutUs: 5_000_000,
    },
    gen: {
      hostility: 1,
      extraHeaders: ["x-trace-id", "authorization", "x-amzn-trace-id", "x-correlation-id", "x-req"],
    },
  },
  masks: {
    opts: {
      maskHeaders: ["x-request-id", "traceparent", "x-secret"],
      keepHeaders: ["traceparent"],
      traceHeaders: ["cookie", "x-secret"],
      requestIdHeaders: ["x-req", "authorization"],
      protocols: ["http", "postgresql", "tls", "redis"],
      maxPendingPerFlow: 16,
    },
    gen: { hostility: 1, extraHeaders: ["cookie", "x-secret", "x-req", "authorization"] },
  },
  "http-only": {
    opts: { protocols: ["http"], requestTimeoutUs: 3_000_000, maxBufferPerDir: 40_000 },
    gen: { hostility: 1.5, extraHeaders: [] },
  },
  /** Captures merged out of time order, and every limit at its smallest. */
  "clock-and-limits": {
    opts: {
      requestTimeoutUs: 1,
      maxPendingPerFlow: 1,
      maxBufferPerDir: 600,
      maxErrorsPerFlow: 0,
      detectSegments: 1,
    },
    gen: { hostility: 1, extraHeaders: [], backwardTs: 0.01 },
  },
  /** Trace headers of every kind with values built to trip splitting, trimming and base64. */
  "trace-values": {
    opts: { traceHeaders: ["x-trace"], requestIdHeaders: ["x-rid"] },
    gen: { hostility: 0.3, extraHeaders: ["x-trace", "x-rid"], traceFuzz: true },
  },
  /**
   * The one request-id header is not x-request-id (masked), and no custom trace header (the
   * JS policy's fast exit once dropped it).
   */
  "lone-request-id": {
    opts: { maskHeaders: ["x-request-id", "authorization"], requestIdHeaders: ["correlation-id"] },
    gen: { hostility: 0.5, extraHeaders: ["correlation-id", "x-request-id", "authorization"] },
    flows: 60,
  },
  /** Many segments at unrelated sequence numbers: holding, flushing in (wrap-around) order. */
  "seq-chaos": {
    opts: { requestTimeoutUs: 10_000_000 },
    gen: { hostility: 1, extraHeaders: [], seqChaos: 0.15 },
  },
  /** A capture whose clock starts at 0 (synthetic captures), times going back below it. */
  "epoch-zero": {
    opts: { requestTimeoutUs: 2_000_000 },
    gen: { hostility: 1, extraHeaders: [], backwardTs: 0.02 },
    t0: 0,
  },
  /** Limits far above the defaults: long unanswered pipelines, large buffers. */
  "big-limits": {
    opts: {
      maxPendingPerFlow: 300,
      maxBufferPerDir: 1 << 20,
      requestTimeoutUs: 60_000_000,
      maxErrorsPerFlow: 1000,
    },
    gen: { hostility: 1, extraHeaders: [], maxPending: 400 },
  },
  /** Near the 256 policy names the native path takes (it first held 64). */
  "many-names": {
    opts: {
      traceHeaders: Array.from({ length: 230 }, (_, i) => `x-t-${i}`),
      requestIdHeaders: Array.from({ length: 10 }, (_, i) => `x-id-${i}`),
    },
    gen: {
      hostility: 0.3,
      extraHeaders: [
        ...Array.from({ length: 230 }, (_, i) => `x-t-${i}`),
        ...Array.from({ length: 10 }, (_, i) => `x-id-${i}`),
      ],
    },
    flows: 60,
  },
  /** Configured Latin-1 names: they match their bytes in either case of A-Z only. */
  "latin1-names": {
    opts: { traceHeaders: ["x-\u00fcber-trace"], requestIdHeaders: ["x-r\u00e9q", "\u00e9tiquette"] },
    gen: {
      hostility: 0.3,
      extraHeaders: [
        "x-\u00fcber-trace",
        "x-\u00fcBER-trace",
        "x-\u00dcber-trace",
        "x-r\u00e9q",
        "\u00e9tiquette",
        "\u00c9tiquette",
      ],
    },
  },
  /**
   * A configured name with a character above U+00FF matches no header bytes (a latin1
   * conversion once made it match the character's low byte natively).
   */
  "unicode-names": {
    opts: { traceHeaders: ["x-\u20ac-id"] },
    gen: {
      hostility: 0.3,
      extraHeaders: ["x-\u00ac-id", Buffer.from("x-\u20ac-id", "utf8").toString("latin1")],
    },
    flows: 60,
  },
  /** The engine ticks at its own pace: every 7 s here (metrics seconds and timeouts found late). */
  "sparse-ticks": {
    opts: { tickUs: 7_000_000, requestTimeoutUs: 3_000_000 },
    gen: { hostility: 1, extraHeaders: [] },
  },
  /** ... or before every event. */
  "dense-ticks": {
    opts: { tickUs: 0, requestTimeoutUs: 1_500_000 },
    gen: { hostility: 1, extraHeaders: [] },
  },
  /** Limits given as "no limit": Infinity, or past 32 bits (the C once took them out of range). */
  "unbounded-config": {
    opts: {
      requestTimeoutUs: Number.POSITIVE_INFINITY,
      maxPendingPerFlow: Number.POSITIVE_INFINITY,
      maxBufferPerDir: 5e9,
      maxErrorsPerFlow: Number.POSITIVE_INFINITY,
    },
    gen: { hostility: 0.5, extraHeaders: [] },
    flows: 60,
  },
  /** maxPendingPerFlow 0 is taken as 1 (the JS once threw in request()). */
  "zero-pending": {
    opts: { maxPendingPerFlow: 0 },
    gen: { hostility: 0.3, extraHeaders: [] },
    flows: 60,
  },
  "config-edges": {
    opts: {
      traceHeaders: ["", "b3", "X-B3-TRACEID", "t:x", "a".repeat(65), "x-b3-sampled"],
      requestIdHeaders: ["traceparent", "x-request-id", "tracestate"],
    },
    gen: { hostility: 1, extraHeaders: ["x-b3-sampled", "tracestate", "t", "a".repeat(65), ""] },
  },
};

/** A growing byte buffer. */
class Bulk {
  buf = Buffer.allocUnsafe(1 << 20);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }
  str(s: string): void {
    this.room(s.length * 3);
    this.len += this.buf.write(s, this.len, "utf8");
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** What one processor put out, with the event that made each row (A) or block (B). */
class Sink {
  /** onL7 / onAppMetrics lines (JSON.stringify + "\n") and whether their protocol is http. */
  readonly l7: string[] = [];
  readonly l7Http: boolean[] = [];
  readonly l7Ev: number[] = [];
  readonly m: string[] = [];
  readonly mHttp: boolean[] = [];
  readonly mEv: number[] = [];
  /** rawRows blocks (copied: the bytes are only valid during the call). */
  readonly rawL7: Buffer[] = [];
  readonly rawL7Ev: number[] = [];
  readonly rawM: Buffer[] = [];
  readonly rawMEv: number[] = [];
  /** Complaints about the blocks themselves (rows count, partial lines). */
  readonly rawProblems: string[] = [];
  ev = -1;
  /**
   * The long run keeps the http rows as bytes in one growing buffer per table instead of a
   * string or block each (~100 MB of them), written as a JSONL writer would.
   */
  readonly bulk: { l7: Bulk; m: Bulk } | null;

  constructor(bulk = false) {
    this.bulk = bulk ? { l7: new Bulk(), m: new Bulk() } : null;
  }

  line(l7: boolean, s: string, http: boolean): void {
    if (this.bulk !== null && http) {
      (l7 ? this.bulk.l7 : this.bulk.m).str(s);
      return;
    }
    (l7 ? this.l7 : this.m).push(s);
    (l7 ? this.l7Http : this.mHttp).push(http);
    (l7 ? this.l7Ev : this.mEv).push(this.ev);
  }

  /** FLOWPLANE_DIFF_SELFTEST: a JS row taken as a raw block. */
  selfRaw(l7: boolean, line: string): void {
    const r = this.raw();
    const b = Buffer.from(line, "utf8");
    (l7 ? r.l7 : r.appMetrics)(b, b.length, 1);
  }

  raw(): RawRows {
    const take =
      (kind: string, bufs: Buffer[], evs: number[]) => (b: Uint8Array, len: number, rows: number) => {
        // A view to check the block (indexOf is memchr), then a copy: `b` is reused.
        const v = Buffer.from(b.buffer, b.byteOffset, len);
        let lines = 0;
        for (let i = v.indexOf(10); i >= 0; i = v.indexOf(10, i + 1)) lines++;
        if (lines !== rows)
          this.rawProblems.push(
            `${kind} block at event ${this.ev}: rows=${rows} but ${lines} lines in ${len} bytes`,
          );
        if (len > 0 && v[len - 1] !== 10)
          this.rawProblems.push(`${kind} block at event ${this.ev}: does not end with "\\n"`);
        if (this.bulk !== null) {
          (kind === "l7" ? this.bulk.l7 : this.bulk.m).bytes(v);
          return;
        }
        const c = Buffer.from(v);
        bufs.push(c);
        evs.push(this.ev);
      };
    return {
      l7: take("l7", this.rawL7, this.rawL7Ev),
      appMetrics: take("appMetrics", this.rawM, this.rawMEv),
    };
  }
}

interface RunResult {
  a: Sink;
  b: Sink;
  aStats: Record<string, unknown>;
  bStats: Record<string, unknown>;
  thrown: string[];
  events: Event[];
  slotOf: Map<GenFlow, number>;
  kind: string | undefined;
  messages: number;
  cpuA?: number;
  cpuB?: number;
  cpuNone?: number;
}

function makeFlows(seed: number, n: number, cfg: GenConfig, spanUs: number, t0 = T0): GenFlow[] {
  const r = new Rng(seed ^ 0xa5a5a5a5);
  const flows: GenFlow[] = [];
  for (let i = 0; i < n; i++) flows.push(genFlow(seed, i, cfg, t0 + r.int(spanUs)));
  return flows;
}

/**
 * Feeds the events to A (JS) and B (native). Lockstep (A then B per event) by default; for the
 * long run each side alone, timed with CPU time.
 */
/** Rows the native path makes (a flow of this traffic that another detector took as Redis, too). */
const onNativePath = (protocol: string): boolean => protocol === "http" || protocol === "redis";

function run(seed: number, allOpts: Opts, events: Event[], lockstep = true): RunResult {
  const { tickUs = 1_000_000, ...opts } = allOpts;
  const a = new Sink(!lockstep);
  const b = new Sink(!lockstep);
  const metaBySlot = new Map<number, FlowMeta>();
  const describeFlow = (slot: number) => metaBySlot.get(slot)!;
  const A = createL7Processor({
    ...opts,
    describeFlow,
    onL7: (r) => a.line(true, `${JSON.stringify(r)}\n`, onNativePath(r.l7_protocol)),
    onAppMetrics: (r) => a.line(false, `${JSON.stringify(r)}\n`, onNativePath(r.l7_protocol)),
  });
  const bOpts: L7ProcessorOptions & { rawRows: RawRows } = {
    ...opts,
    ...(SELFTEST === "bug"
      ? {
          maxPendingPerFlow: (opts.maxPendingPerFlow ?? 64) + 1,
          requestTimeoutUs: (opts.requestTimeoutUs ?? 30e6) - 400_000,
        }
      : {}),
    describeFlow,
    // As the engine gives them: flows detected at their first payload go to the native path
    // without a FlowL7 (the processor's openNative), later ones through their FlowMeta.
    flowKey: (slot, k) => keyFromMeta(metaBySlot.get(slot)!, k),
    onL7: (r) => {
      if (SELFTEST && onNativePath(r.l7_protocol)) {
        if (SELFTEST === "bug" && r.response_code === 404) r.response_code = 0;
        b.selfRaw(true, `${JSON.stringify(r)}\n`);
        return;
      }
      b.l7.push(`${JSON.stringify(r)}\n`);
      b.l7Http.push(onNativePath(r.l7_protocol));
      b.l7Ev.push(b.ev);
    },
    onAppMetrics: (r) => {
      if (SELFTEST && onNativePath(r.l7_protocol)) {
        b.selfRaw(false, `${JSON.stringify(r)}\n`);
        return;
      }
      b.m.push(`${JSON.stringify(r)}\n`);
      b.mHttp.push(onNativePath(r.l7_protocol));
      b.mEv.push(b.ev);
    },
    rawRows: b.raw(),
  };
  const B = createL7Processor(bOpts);
  const thrown: string[] = [];
  const slotOf = new Map<GenFlow, number>();
  // The input lives in reused blocks, scribbled over after each call: what a processor keeps
  // past a call must be its own copy. A Buffer of its own, a Buffer and a plain Uint8Array
  // inside a larger ArrayBuffer (byteOffset not 0), in turn.
  const big = new ArrayBuffer(3 << 18);
  const blk: Uint8Array[] = [
    Buffer.alloc(1 << 18),
    Buffer.from(big, 4099, 1 << 18),
    new Uint8Array(big, (1 << 18) + 7001, 1 << 18),
  ];
  let cpuA: number | undefined;
  let cpuB: number | undefined;
  let cpuNone: number | undefined;
  if (lockstep) {
    // Per event, A then B: slots are the same since both draw from the same seeded choices.
    feedLockstep(events, seed, A, B, a, b, blk, metaBySlot, slotOf, thrown, opts.maxBufferPerDir, tickUs);
  } else {
    // Each side alone (the same seeded slots), timed; B first, so that the garbage A's row
    // objects and strings leave is not collected on B's time.
    let t = process.cpuUsage();
    feedLockstep(events, seed, B, null, b, a, blk, metaBySlot, slotOf, thrown);
    let u = process.cpuUsage(t);
    cpuB = u.user + u.system;
    slotOf.clear();
    t = process.cpuUsage();
    feedLockstep(events, seed, A, null, a, b, blk, metaBySlot, slotOf, thrown);
    u = process.cpuUsage(t);
    cpuA = u.user + u.system;
    // The harness's own share of both (event loop, input copies): a pass with no processor.
    const none = {
      onPayload() {},
      tick() {},
      protocolOf() {},
      onFlowEnd() {},
      flush() {},
    } as unknown as L7Processor;
    slotOf.clear();
    t = process.cpuUsage();
    feedLockstep(events, seed, none, null, new Sink(), b, blk, metaBySlot, slotOf, []);
    u = process.cpuUsage(t);
    cpuNone = u.user + u.system;
  }
  return {
    a,
    b,
    aStats: A.stats() as unknown as Record<string, unknown>,
    bStats: B.stats() as unknown as Record<string, unknown>,
    thrown,
    events,
    slotOf,
    kind: B.nativeKind,
    messages: 0,
    cpuA,
    cpuB,
    cpuNone,
  };
}

/** The engine's table index of the n-th new flow: small first, then sparse and large ones. */
function slotNumber(n: number): number {
  if (n < 40) return n;
  return n % 11 === 3 ? 2 ** 30 + n : n * 4099;
}

function feedLockstep(
  events: Event[],
  seed: number,
  A: L7Processor,
  B: L7Processor | null,
  a: Sink,
  b: Sink,
  blks: Uint8Array[],
  metaBySlot: Map<number, FlowMeta>,
  slotOf: Map<GenFlow, number>,
  thrown: string[],
  maxBuf = 64 * 1024,
  tickUs = 1_000_000,
): void {
  const r = new Rng(seed ^ 0x51075107);
  const free: number[] = [];
  let nextSlot = 0;
  let lastTick = events.length > 0 ? events[0]!.ts : T0;
  let now = lastTick;
  const sides: [L7Processor, Sink, string][] = B
    ? [
        [A, a, "A (JS)"],
        [B, b, "B (native)"],
      ]
    : [[A, a, "alone"]];
  const both = (i: number, what: string, fn: (P: L7Processor) => void) => {
    for (const [P, sink, name] of sides) {
      sink.ev = i;
      try {
        fn(P);
      } catch (e) {
        thrown.push(`${name} threw at event ${i} (${what}): ${(e as Error).stack ?? e}`);
      }
    }
  };
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    now = e.ts;
    if (e.ts - lastTick >= tickUs) {
      both(i, "tick", (P) => P.tick(e.ts));
      lastTick = e.ts;
    }
    let slot = slotOf.get(e.flow);
    if (slot === undefined) {
      slot =
        free.length > 0 && r.chance(0.5) ? free.splice(r.int(free.length), 1)[0]! : slotNumber(nextSlot++);
      slotOf.set(e.flow, slot);
    }
    if (e.seg < 0) {
      // The engine asks for the L4 row's protocol first: both sides must say the same.
      const protos: string[] = [];
      both(i, `end of flow ${e.flow.index}`, (P) => {
        protos.push(P.protocolOf(slot));
        P.onFlowEnd(slot, e.ts);
      });
      if (B && protos[0] !== protos[1])
        thrown.push(
          `protocolOf(slot ${slot}) at event ${i} (end of flow ${e.flow.index}): A "${protos[0]}" B "${protos[1]}"`,
        );
      free.push(slot);
      continue;
    }
    metaBySlot.set(slot, e.flow.meta);
    const s = e.flow.segs[e.seg]!;
    const off = 8 + (i % 13);
    const blk = blks[i % blks.length]!;
    both(i, `flow ${e.flow.index} segment ${e.seg}`, (P) => {
      blk.fill(0x55, 0, off);
      blk.set(s.data, off);
      blk.fill(0xaa, off + s.data.length, off + s.data.length + 64);
      P.onPayload(slot, s.dir, blk, off, s.data.length, s.wireLen, s.seq, s.ts);
      blk.fill(0xcc, off, off + s.data.length);
    });
    if (B && i % 997 === 0) {
      // What the processors hold (buffer sizes are each side's own business).
      const x = A.footprint();
      const y = B.footprint();
      const f = (v: typeof x) =>
        `flows ${v.flows}, pending ${v.pending}, maxPendingPerFlow ${v.maxPendingPerFlow}`;
      if (f(x) !== f(y)) thrown.push(`footprint() after event ${i}: A ${f(x)}; B ${f(y)}`);
      // Within the options' bounds: per flow and direction, maxBufferPerDir buffered and held.
      const bound = y.flows * 2 * maxBuf;
      if (y.bufferedBytes > bound || y.heldBytes > bound)
        thrown.push(
          `B's footprint() after event ${i} is past its bounds (${bound} each): buffered ${y.bufferedBytes}, held ${y.heldBytes}`,
        );
    }
  }
  both(events.length, "flush", (P) => P.flush(now + 1));
}

// ---------------------------------------------------------------------------------------------
// Comparison and reports

const STAT_KEYS_ORDER = [
  "rows",
  "timeouts",
  "orphanResponses",
  "parseErrors",
  "gaps",
  "reordered",
  "bufferOverflows",
  "pendingOverflows",
  "flowsFailed",
];

function splitLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let s = 0;
  for (let i = 0; i < buf.length; i++)
    if (buf[i] === 10) {
      out.push(buf.subarray(s, i + 1));
      s = i + 1;
    }
  if (s < buf.length) out.push(buf.subarray(s));
  return out;
}

function short(s: string, n = 600): string {
  return s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s;
}

function fieldDiff(aLine: string | undefined, bLine: string | undefined): string {
  if (aLine === undefined || bLine === undefined) return "";
  let x: Record<string, unknown>;
  let y: Record<string, unknown>;
  try {
    x = JSON.parse(aLine);
  } catch {
    return "  (A's line is not JSON)";
  }
  try {
    y = JSON.parse(bLine);
  } catch (e) {
    return `  (B's line is not JSON: ${(e as Error).message})`;
  }
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])];
  for (const k of keys)
    if (JSON.stringify(x[k]) !== JSON.stringify(y[k]))
      out.push(
        `    ${k}: A=${short(JSON.stringify(x[k]) ?? "(missing)", 200)} B=${short(JSON.stringify(y[k]) ?? "(missing)", 200)}`,
      );
  if (out.length === 0 && Object.keys(x).join() !== Object.keys(y).join())
    out.push(`    key order: A=${Object.keys(x).join()} B=${Object.keys(y).join()}`);
  return out.length
    ? `  fields that differ:\n${out.join("\n")}`
    : "  (same values: the bytes differ in formatting)";
}

function describeSeg(f: GenFlow, i: number): string {
  const s = f.segs[i]!;
  return `segment ${i}/${f.segs.length} dir ${s.dir} seq ${s.seq} len ${s.data.length} wire ${s.wireLen} ts ${s.ts}${s.note ? ` [${s.note}]` : ""}`;
}

function describeEvent(res: RunResult, i: number): string {
  if (i < 0) return "(an unknown event)";
  if (i >= res.events.length) return "the final flush";
  const e = res.events[i]!;
  const f = e.flow;
  const what = e.seg < 0 ? `onFlowEnd at ${e.ts}` : describeSeg(f, e.seg);
  return `event ${i}: flow ${f.index} (slot ${res.slotOf.get(f)}, flow seed ${f.seed}, ${f.scenario}) ${what}`;
}

/** A's rows of one kind (http or not) against what B gave for them; "" when equal. */
function compareStream(
  name: string,
  res: RunResult,
  aLines: string[],
  aEv: number[],
  bBytes: Buffer,
  bEvOfLine: (line: number) => number,
): string {
  const want = Buffer.from(aLines.join(""), "utf8");
  if (want.equals(bBytes)) return "";
  const bLines = splitLines(bBytes);
  let i = 0;
  while (i < aLines.length && i < bLines.length && Buffer.from(aLines[i]!, "utf8").equals(bLines[i]!)) i++;
  const out = [
    `${name} differs: A has ${aLines.length} rows (${want.length} bytes), B ${bLines.length} (${bBytes.length} bytes); first difference at row ${i}`,
  ];
  for (let k = Math.max(0, i - 2); k < i; k++)
    out.push(`  row ${k} (same): ${short(aLines[k]!.trimEnd(), 300)}`);
  const aL = aLines[i]?.trimEnd();
  const bL = bLines[i]?.toString("utf8").trimEnd();
  out.push(`  row ${i} A: ${aL === undefined ? "(none)" : short(aL)}`);
  out.push(`  row ${i} B: ${bL === undefined ? "(none)" : short(bL)}`);
  // Rows of different flows: a row is missing, extra or out of order rather than wrong.
  const aFlow = aL && /"flow_id":"([^"]*)"/.exec(aL)?.[1];
  const bFlow = bL && /"flow_id":"([^"]*)"/.exec(bL)?.[1];
  if (aFlow && bFlow && aFlow !== bFlow) {
    const aBuf = Buffer.from(aLines[i]!, "utf8");
    let j = i + 1;
    while (j < bLines.length && j < i + 200 && !bLines[j]!.equals(aBuf)) j++;
    let k = i + 1;
    while (k < aLines.length && k < i + 200 && !Buffer.from(aLines[k]!, "utf8").equals(bLines[i]!)) k++;
    out.push(
      `  (rows of different flows: A's row ${i} is ${j < bLines.length && j < i + 200 ? `B's row ${j}` : "not in B's next 200"}; B's row ${i} is ${k < aLines.length && k < i + 200 ? `A's row ${k}` : "not in A's next 200"})`,
    );
  } else out.push(fieldDiff(aL, bL));
  if (i + 1 < aLines.length || i + 1 < bLines.length) {
    out.push(`  row ${i + 1} A: ${short(aLines[i + 1]?.trimEnd() ?? "(none)", 300)}`);
    out.push(`  row ${i + 1} B: ${short(bLines[i + 1]?.toString("utf8").trimEnd() ?? "(none)", 300)}`);
  }
  if (i < aEv.length) out.push(`  A made row ${i} at ${describeEvent(res, aEv[i]!)}`);
  if (i < bLines.length) out.push(`  B's block with row ${i} came at ${describeEvent(res, bEvOfLine(i))}`);
  return out.join("\n");
}

function concatRaw(bufs: Buffer[], evs: number[]): { bytes: Buffer; evOfLine: (line: number) => number } {
  const lineEv: number[] = [];
  for (let k = 0; k < bufs.length; k++) {
    const b = bufs[k]!;
    for (let i = 0; i < b.length; i++) if (b[i] === 10) lineEv.push(evs[k]!);
  }
  return { bytes: Buffer.concat(bufs), evOfLine: (l) => lineEv[l] ?? -1 };
}

function pick<T>(xs: T[], keep: boolean[], want: boolean): T[] {
  return xs.filter((_, i) => keep[i] === want);
}

/** Metrics rows summed per (time, server, protocol, endpoint): "" when both sides agree. */
function compareSums(name: string, aLines: string[], bLines: string[]): string {
  const sum = (lines: string[]) => {
    const m = new Map<string, number[]>();
    for (const l of lines) {
      const r = JSON.parse(l) as Record<string, unknown>;
      const k = JSON.stringify([r.time, r.server_ip, r.server_port, r.l7_protocol, r.endpoint]);
      const v = [
        r.requests,
        r.errors_client,
        r.errors_server,
        r.timeouts,
        r.duration_sum_us,
        ...(r.latency_buckets as number[]),
      ] as number[];
      const o = m.get(k);
      if (!o) m.set(k, [...v, r.duration_max_us as number]);
      else {
        for (let i = 0; i < v.length; i++) o[i]! += v[i]!;
        o[v.length] = Math.max(o[v.length]!, r.duration_max_us as number);
      }
    }
    return m;
  };
  const x = sum(aLines);
  const y = sum(bLines);
  const out: string[] = [];
  for (const k of new Set([...x.keys(), ...y.keys()])) {
    const p = JSON.stringify(x.get(k) ?? null);
    const q = JSON.stringify(y.get(k) ?? null);
    if (p !== q && out.length < 5) out.push(`  key ${k}: A ${p} B ${q}`);
  }
  return out.length
    ? `${name} sums differ (requests, errors_client, errors_server, timeouts, duration_sum_us, buckets..., duration_max_us):\n${out.join("\n")}`
    : "";
}

/** Every difference between A and B, as readable text ("" when they agree). */
function differences(res: RunResult): string {
  const { a, b } = res;
  const out: string[] = [];
  if (res.thrown.length) out.push(`exceptions and mismatches:\n  ${res.thrown.slice(0, 5).join("\n  ")}`);
  if (b.rawProblems.length) out.push(`rawRows blocks:\n  ${b.rawProblems.slice(0, 5).join("\n  ")}`);
  if (a.bulk && b.bulk) {
    const noEvents = () => -1;
    const x = compareStream(
      "l7_flow_log (http, rawRows.l7)",
      res,
      splitLines(a.bulk.l7.view()).map(String),
      [],
      b.bulk.l7.view(),
      noEvents,
    );
    if (x) out.push(x);
    const y = compareStream(
      "application_metrics (http, rawRows.appMetrics)",
      res,
      splitLines(a.bulk.m.view()).map(String),
      [],
      b.bulk.m.view(),
      noEvents,
    );
    if (y) out.push(y);
  }
  const l7 = concatRaw(b.rawL7, b.rawL7Ev);
  const m = concatRaw(b.rawM, b.rawMEv);
  const d1 = compareStream(
    "l7_flow_log (http, rawRows.l7)",
    res,
    pick(a.l7, a.l7Http, true),
    pick(a.l7Ev, a.l7Http, true),
    l7.bytes,
    l7.evOfLine,
  );
  if (d1) out.push(d1);
  // Other protocols' rows go through A's one AppMetrics with the http rows, but through B's JS
  // AppMetrics alone: a second is flushed at other moments there, so its rows split into
  // current and correction rows otherwise. Then only the sums per key must agree.
  const mixed = a.l7Http.some((h) => !h) || a.mHttp.some((h) => !h);
  if (!mixed) {
    const d2 = compareStream(
      "application_metrics (http, rawRows.appMetrics)",
      res,
      pick(a.m, a.mHttp, true),
      pick(a.mEv, a.mHttp, true),
      m.bytes,
      m.evOfLine,
    );
    if (d2) out.push(d2);
  } else {
    const d = compareSums(
      "application_metrics",
      [...a.m],
      [...splitLines(m.bytes).map((x) => x.toString("utf8")), ...b.m],
    );
    if (d) out.push(`${d}\n  (compared as sums per key: flows of other protocols share A's metrics)`);
  }
  const bJs = Buffer.from(b.l7.join(""), "utf8");
  const d3 = compareStream(
    "l7_flow_log (other protocols, onL7)",
    res,
    pick(a.l7, a.l7Http, false),
    pick(a.l7Ev, a.l7Http, false),
    bJs,
    (l) => b.l7Ev[l] ?? -1,
  );
  if (d3) out.push(d3);
  const bad = b.l7Http.filter(Boolean).length + b.mHttp.filter(Boolean).length;
  if (bad) out.push(`B sent ${bad} http rows through onL7/onAppMetrics instead of rawRows`);
  const keys = [...new Set([...STAT_KEYS_ORDER, ...Object.keys(res.aStats), ...Object.keys(res.bStats)])];
  const sd = keys
    .filter((k) => JSON.stringify(res.aStats[k]) !== JSON.stringify(res.bStats[k]))
    .map((k) => `  ${k}: A=${JSON.stringify(res.aStats[k])} B=${JSON.stringify(res.bStats[k])}`);
  if (sd.length) out.push(`stats differ:\n${sd.join("\n")}`);
  return out.join("\n\n");
}

/** The flows a difference points at: the flow of A's (or B's) first differing row. */
function suspectFlows(res: RunResult): GenFlow[] {
  const byId = new Map<string, GenFlow>();
  for (const e of res.events) byId.set(e.flow.meta.flowId, e.flow);
  const found = new Set<GenFlow>();
  const aHttp = pick(res.a.l7, res.a.l7Http, true);
  const bLines = splitLines(concatRaw(res.b.rawL7, res.b.rawL7Ev).bytes);
  for (let i = 0; i < Math.max(aHttp.length, bLines.length); i++) {
    const x = aHttp[i];
    const y = bLines[i]?.toString("utf8");
    if (x !== undefined && y !== undefined && Buffer.from(x, "utf8").toString() === y) continue;
    for (const l of [x, y]) {
      const id = l ? /"flow_id":"([^"]*)"/.exec(l)?.[1] : undefined;
      const f = id ? byId.get(id) : undefined;
      if (f) found.add(f);
    }
    break;
  }
  if (res.thrown.length) {
    const ev = /at event (\d+)/.exec(res.thrown[0]!);
    const e = ev ? res.events[Number(ev[1])] : undefined;
    if (e) found.add(e.flow);
  }
  return [...found];
}

function runFlows(seed: number, opts: Opts, flows: GenFlow[]): RunResult {
  return run(seed, opts, eventsOf(flows));
}

/** Greedy segment removal keeping the difference: a short list for the report. */
function shrink(seed: number, opts: Opts, f: GenFlow): GenFlow {
  let cur = f;
  let budget = 400;
  const still = (g: GenFlow) => budget-- > 0 && differences(runFlows(seed, opts, [g])) !== "";
  for (let chunk = Math.max(1, cur.segs.length >> 1); chunk >= 1; chunk = chunk === 1 ? 0 : chunk >> 1) {
    for (let i = 0; i < cur.segs.length && budget > 0; ) {
      const segs = [...cur.segs.slice(0, i), ...cur.segs.slice(i + chunk)];
      const g: GenFlow = {
        ...cur,
        segs,
        endTs: cur.endTs >= 0 && segs.length ? Math.max(cur.endTs, segs[segs.length - 1]!.ts) : cur.endTs,
      };
      if (still(g)) cur = g;
      else i += chunk;
    }
  }
  // Also without the flow end, when that keeps it.
  if (cur.endTs >= 0 && still({ ...cur, endTs: -1 })) cur = { ...cur, endTs: -1 };
  return cur;
}

function dumpSegs(f: GenFlow): string {
  return f.segs
    .map(
      (s, i) =>
        `    ${describeSeg(f, i)}: ${short(JSON.stringify(Buffer.from(s.data).toString("latin1")), 300)}`,
    )
    .join("\n");
}

/** The full report of a failing run: differences, then the suspect flows alone and shrunk. */
function report(
  label: string,
  seed: number,
  rerun: string,
  optsName: string,
  opts: Opts,
  res: RunResult,
): string {
  const out = [
    `${label}: case seed ${seed}, options "${optsName}" ${JSON.stringify(opts)}; rerun: ${rerun}`,
    differences(res),
  ];
  for (const f of suspectFlows(res).slice(0, 2)) {
    const alone = differences(runFlows(seed, opts, [f]));
    const repro = `${rerun} FLOWPLANE_DIFF_FLOW=${f.index}`;
    if (!alone) {
      out.push(
        `flow ${f.index} alone gives no difference (it needs the other flows: ticks, metrics seconds or slots); rerun: ${repro}`,
      );
      continue;
    }
    const small = shrink(seed, opts, f);
    const file = join(tmpdir(), `http1-native-diff-${seed}-${optsName}-${f.index}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        {
          seed,
          options: opts,
          meta: small.meta,
          endTs: small.endTs,
          segs: small.segs.map((s) => ({ ...s, data: Buffer.from(s.data).toString("base64") })),
        },
        null,
        1,
      ),
    );
    out.push(
      `flow ${f.index} alone still differs (${repro}); shrunk to ${small.segs.length} of ${f.segs.length} segments, end ${small.endTs}, meta ${JSON.stringify(small.meta)} (written to ${file}):\n${dumpSegs(small)}\n  its differences:\n${differences(runFlows(seed, opts, [small]))}`,
    );
  }
  return out.join("\n\n");
}

// ---------------------------------------------------------------------------------------------

function ms(us: number | undefined): string {
  return ((us ?? 0) / 1000).toFixed(0);
}

function probeKind(): { kind: string | undefined; warmUpBytes: number } {
  let bytes = 0;
  const rawRows: RawRows = {
    l7: (_b, len) => {
      bytes += len;
    },
    appMetrics: (_b, len) => {
      bytes += len;
    },
  };
  // The first processor of this file: createL7Processor's warm-up runs with these options, and
  // its rows must not reach the caller's rawRows.
  const o: L7ProcessorOptions & { rawRows: RawRows } = {
    describeFlow: () => ({
      flowId: "1",
      clientIp: "10.0.0.1",
      clientPort: 1,
      serverIp: "10.0.0.2",
      serverPort: 80,
      ipProtocol: 6,
    }),
    rawRows,
  };
  const p = createL7Processor(o);
  return { kind: p.nativeKind, warmUpBytes: bytes };
}

const probe = probeKind();
const selected = env.FLOWPLANE_DIFF_OPTS ? [env.FLOWPLANE_DIFF_OPTS] : Object.keys(OPTION_SETS);

describe("HTTP/1 native row path against the JS path (differential fuzz)", () => {
  it.skipIf(SELFTEST)("runs native, and the warm-up's rows do not reach rawRows", () => {
    expect(
      probe.kind,
      `nativeKind is "${probe.kind}" (FLOWPLANE_L7_NATIVE=${env.FLOWPLANE_L7_NATIVE ?? "unset"}): the native path must be active here`,
    ).toBe("native");
    expect(probe.warmUpBytes, "createL7Processor's warm-up wrote rows into the caller's rawRows").toBe(0);
  });

  for (const name of selected)
    for (let round = Math.max(ROUND, 0); round < (ROUND >= 0 ? ROUND + 1 : ROUNDS); round++)
      it.skipIf(!!OPTION_SETS[name]?.known && !env.FLOWPLANE_DIFF_KNOWN && !env.FLOWPLANE_DIFF_OPTS)(
        `same rows, metrics and stats: options "${name}"${ROUNDS > 1 ? ` round ${round}` : ""}${OPTION_SETS[name]?.known ? ` (known: ${OPTION_SETS[name]?.known})` : ""}`,
        () => {
          const set = OPTION_SETS[name];
          if (!set)
            throw new Error(
              `unknown FLOWPLANE_DIFF_OPTS ${name}: one of ${Object.keys(OPTION_SETS).join(", ")}`,
            );
          // Each case's seed depends on the base seed, the set and the round only.
          const seed = (SEED + Object.keys(OPTION_SETS).indexOf(name) * 0x1000193 + round * 0x9e3779b1) >>> 0;
          const rerun = `FLOWPLANE_DIFF_SEED=${SEED} FLOWPLANE_DIFF_OPTS=${name}${round ? ` FLOWPLANE_DIFF_ROUND=${round}` : ""}`;
          const n = FLOWS || set.flows || 150;
          let flows = makeFlows(seed, n, set.gen, n * 40_000, set.t0);
          if (ONLY_FLOW >= 0) flows = flows.filter((f) => f.index === ONLY_FLOW);
          const res = runFlows(seed, set.opts, flows);
          if (!SELFTEST) expect(res.kind, "B is not on the native path").toBe("native");
          const diff = differences(res);
          if (diff) {
            const text = report(
              `HTTP/1 native diff (${flows.length} flows, ${res.events.length} events)`,
              seed,
              rerun,
              name,
              set.opts,
              res,
            );
            console.error(text);
            expect.fail(
              text.length > 8000 ? `${text.slice(0, 8000)}\n… (the full report is on stderr above)` : text,
            );
          }
          expect(res.aStats.parserExceptions, "the JS parser threw (a JS bug the fuzz found)").toBe(0);
          // The generator must keep reaching what it is for (on the JS side).
          if (ONLY_FLOW < 0 && set.gen.hostility >= 1) {
            const s = res.aStats as Record<string, number>;
            for (const key of ["rows", "timeouts", "orphanResponses", "parseErrors", "gaps", "reordered"])
              expect(s[key], `the traffic made no ${key}`).toBeGreaterThan(0);
            const rows = pick(res.a.l7, res.a.l7Http, true).join("");
            for (const what of [
              '"trace_id":"0',
              '"x_request_id":"',
              '"response_status":"server_error"',
              '"request_type":"HEAD"',
            ])
              expect(rows.includes(what), `no row with ${what}`).toBe(true);
          }
        },
      );

  it('more endpoints in a second than the metrics keep (folded into endpoint "")', () => {
    const seed = (SEED ^ 0xf10d) >>> 0;
    const flows: GenFlow[] = [];
    for (let i = 0; i < 130; i++) {
      const segs: GenFlow["segs"] = [];
      let seq = [1000 + i, 5000 + i];
      let ts = T0 + 2_000_000 + i * 17;
      for (let k = 0; k < 90; k++) {
        const q = Buffer.from(`GET /u/${i}/${k}?x=1 HTTP/1.1\r\nHost: h${i % 3}\r\n\r\n`, "latin1");
        const code = k % 7 === 0 ? 503 : 200;
        const p = Buffer.from(`HTTP/1.1 ${code} X\r\nContent-Length: 0\r\n\r\n`, "latin1");
        segs.push({ dir: 0, data: q, wireLen: q.length, seq: seq[0]!, ts, at: ts, note: "" });
        ts += 40;
        segs.push({ dir: 1, data: p, wireLen: p.length, seq: seq[1]!, ts, at: ts, note: "" });
        ts += 40 + (k % 5);
        seq = [seq[0]! + q.length, seq[1]! + p.length];
      }
      flows.push({
        index: i,
        seed,
        meta: {
          flowId: String(100000 + i),
          clientIp: `10.9.0.${i}`,
          clientPort: 30000 + i,
          serverIp: `10.8.0.${i % 3}`,
          serverPort: 80,
          ipProtocol: 6,
        },
        segs,
        endTs: ts + 1_000_000,
        messages: 180,
        scenario: "endpoint flood",
      });
    }
    const res = runFlows(seed, {}, flows);
    const folded = pick(res.a.m, res.a.mHttp, true).filter((l) => l.includes('"endpoint":""')).length;
    expect(folded, "the flood folded no endpoint").toBeGreaterThan(0);
    const diff = differences(res);
    if (diff) expect.fail(report("endpoint flood", seed, "(this case)", "{}", {}, res).slice(0, 8000));
  });

  it(`long run: ${LONG} messages of ordinary keep-alive traffic, CPU time of A and B`, () => {
    const seed = (SEED ^ 0x10c0) >>> 0;
    const cfg: GenConfig = { hostility: 0, extraHeaders: [] };
    const flows: GenFlow[] = [];
    let messages = 0;
    const r = new Rng(seed);
    // 2000 conversations, then copies of them at other times, ports and sequence numbers
    // (generating every flow took as long as running it).
    for (let i = 0; messages < LONG; i++) {
      const start = T0 + r.int(60_000_000);
      let f: GenFlow;
      if (i < 2000) f = genFlow(seed, i, cfg, start);
      else {
        const o = flows[i % 2000]!;
        const dt = start - (o.segs[0]?.at ?? start);
        const ds = r.u32();
        f = {
          ...o,
          index: i,
          meta: { ...o.meta, flowId: String(100000 + i), clientPort: 1024 + (i % 60000) },
          segs: o.segs.map((x) => ({ ...x, ts: x.ts + dt, at: x.at + dt, seq: (x.seq + ds) >>> 0 })),
          endTs: o.endTs < 0 ? -1 : o.endTs + dt,
        };
      }
      flows.push(f);
      messages += f.messages;
    }
    const events = eventsOf(flows);
    const res = run(seed, { orgId: ORG, agentId: AGENT }, events, false);
    const aBytes = res.a.bulk?.l7.len ?? 0;
    console.log(
      `long run: ${messages} messages, ${flows.length} flows, ${events.length} segments, ${res.aStats.rows} rows (${(aBytes / 1e6).toFixed(1)} MB); CPU A (JS, JSON.stringify, utf8 write) ${ms(res.cpuA)} ms, B (native, bytes copied) ${ms(res.cpuB)} ms, the harness alone (in both) ${ms(res.cpuNone)} ms`,
    );
    const diff = differences(res);
    if (diff)
      expect.fail(
        `long run (seed ${seed}) differs; the rows are the same generator's as the fuzz cases\n${diff.slice(0, 20_000)}`,
      );
  });
});
