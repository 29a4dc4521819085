/**
 * The native HTTP/1 row path: HTTP/1 flows, once detected by the processor, have their
 * segments handled in C (./http1-rows-c.ts), which formats l7_flow_log rows and aggregates
 * application metrics itself and hands JS whole JSONL lines. It exists because per-row JS work
 * (a row object, pairing, the metrics' Map lookups, formatting) cost ~2.4 µs a row, and issue 4
 * asks for an HTTP-heavy capture's L7 analysis within 30 % of L4-only (docs/notes/l7-floor-session6.md).
 *
 * Segments go in batches: their numbers are queued in a shared Float64Array (`args`) and one
 * N-API call (`segs(n)`) takes them, up to SEG_BATCH at a time, since a call costs as much as
 * enqueueing a segment. Only segments of a pinned block wait in the queue; others go at once.
 * In own-thread mode (`fds`, used by one-thread analyze) the calls only enqueue commands, and a
 * C thread runs them and writes the rows to the files itself (docs/notes/l7-native-session8.md).
 * Reading a capture file, that thread reads the segments from the file itself, by offset, where
 * the page cache maps cheaply (`readFile`, docs/notes/l7-native-session16.md); else from the
 * reader's pinned blocks.
 * The JS path (../protocols/http1.ts and the processor) stays the reference: the native path's
 * rows are byte-identical to it (test/l7/http1-native-diff.test.ts). DNS over UDP and Redis
 * flows take the same path (dns-rows-c.ts, redis-rows-c.ts; their own diff tests).
 */
import { pathToFileURL } from "node:url";
import { buildAddon } from "@flowplane/core/native-addon";
import { APP_METRICS_C } from "./app-metrics-c.ts";
import { DNS_ROWS_C } from "./dns-rows-c.ts";
import { HTTP1_SCAN_C } from "./http1-lines-c.ts";
import { HTTP1_ROWS_C } from "./http1-rows-c.ts";
import { PG_ROWS_C } from "./pg-rows-c.ts";
import { REDIS_ROWS_C } from "./redis-rows-c.ts";
import { ROWS_COMMON_C } from "./rows-common-c.ts";
import { privateSourceFile } from "./source-file.ts";

/** Receives whole JSONL lines; `b` is valid during the call only. */
export type RawSink = (b: Uint8Array, len: number, rows: number) => void;

export interface NativeRowsConfig {
  /** `"org_id":"…","agent_id":"…"` */
  ids: string;
  timeoutUs: number;
  maxPending: number;
  maxBuf: number;
  maxErrors: number;
  maxKeys: number;
  /** The header policy's names: [lower-case name, kind (1-7 standard, 0 other), reqId, custom]. */
  names: [string, number, number, number][];
  l7: RawSink;
  am: RawSink;
  /**
   * Own-thread mode: the l7_flow_log and application_metrics descriptors (opened with O_APPEND,
   * see JsonlWriter): the calls below then only enqueue, a C thread runs the segments and writes
   * the rows to the files itself, and `l7` / `am` are not called. Segments in a pinned block are
   * passed by pointer (the caller keeps the block unchanged until `waitFor` says the thread is
   * past it), others are copied.
   */
  fds?: [number, number];
  /**
   * Own-thread mode: when l7_flow_log and application_metrics go to the device with O_DIRECT
   * instead of through the page cache: 0 once their page-cache writes turn out slow (the
   * default), 1 from the start, -1 never. Without file system support, never.
   */
  direct?: number;
  /** Tests: [CPU ns a MiB of page-cache writes above which a file goes direct, bytes measured at a time]. */
  directSlow?: [number, number];
}

/** One processor's native state. */
export interface NativeRows {
  /**
   * segs()'s numbers, SEG_ARGS per segment: flow id, direction (oriented), offset, length, wire
   * length, TCP seq, µs. A flow's end: flow id, SEG_END, and its µs in the seventh place. A
   * flow's opening, in two records: its id (the caller's: dense from 0, free again once its end
   * is queued), SEG_OPEN, its kind (NATIVE_*), then its numbers in KEY order (../flow-key.ts)
   * with the two ports as client * 65536 + server; the C makes the flow's strings (as
   * FlowIdText.of and ipText do), its fixed row bytes and its server's id for the metrics
   * (unique per server address, port and kind, never reused).
   */
  args: Float64Array;
  /**
   * The array the next segments are in (call it only when the array changes); true when it is
   * a pinned block, whose segments may be queued for a later segs(); else pass each at once.
   */
  buf(b: Uint8Array): boolean;
  /**
   * The row thread reads the capture file `fd` (`size` bytes) itself, by offset, under a read
   * lease (own-thread mode only; false when the lease cannot be had: the file is open for
   * writing elsewhere, is another user's, or its file system has none). Once another process
   * asks to write the file, the lease goes and the thread reads the rest with pread: segments
   * of a file cut short count as gaps. Once per processor.
   */
  readFile(fd: number, size: number): boolean;
  /** The records segs() takes next give offsets in readFile()'s file, not in a buf() array (until buf()). */
  bufFile(): void;
  /** The first n (<= SEG_BATCH) records in args (segments of the buf() array, flow ends and openings), in order. */
  segs(n: number): void;
  tick(nowMicros: number): void;
  flush(): void;
  /** Counters, see STAT below (own-thread mode: once the thread has run everything). */
  stats(): Float64Array;
  /** Whether the own-thread mode is on (`fds` given and the thread started). */
  threaded: boolean;
  /** A block whose segments need not be copied (own-thread mode; else ignored). */
  pin(b: Uint8Array): void;
  /** Memory for the capture blocks: 2 MiB-aligned, huge pages if the kernel gives them, made now. */
  region(bytes: number): ArrayBuffer | undefined;
  /** The position of everything enqueued so far, for waitFor() (own-thread mode). */
  mark(): number;
  /** Returns once the thread has run what was enqueued before `mark`. */
  waitFor(mark: number): void;
  /** Whether the thread has run what was enqueued before `mark` (without waiting). */
  passed(mark: number): boolean;
  /**
   * Own-thread mode: the thread writes b[0..len) to descriptor fd after everything enqueued so
   * far (copied first: the caller may reuse b at once); returns a mark for waitFor().
   */
  wchunk(fd: number, b: Uint8Array, len: number): number;
  /** The errno of the first failed wchunk() write to fd not yet reported (then forgotten), or 0. */
  wfail(fd: number): number;
}

/** Numbers per segment in `args`, and segments per segs() call at most (FP_SEG_ARGS, FP_SEG_BATCH in the C). */
export const SEG_ARGS = 8;
export const SEG_BATCH = 256;
/**
 * In a segs() record's direction place: the flow's end (FP_SEG_END in the C). Queued with the
 * segments: a call of its own (session 10's end()) made the queue go out at every flow's end,
 * ~30 segments a call on web-1m instead of up to SEG_BATCH, and cost two calls a flow.
 */
export const SEG_END = 2;
/** In a segs() record's direction place: a flow's opening (FP_SEG_OPEN in the C), two records long. */
export const SEG_OPEN = 3;
/** A flow opening's kinds (FP_KIND_* in the C): an HTTP/1 flow, a DNS-over-UDP flow, a Redis flow, a PostgreSQL flow. */
export const NATIVE_HTTP = 0;
export const NATIVE_DNS = 1;
export const NATIVE_REDIS = 2;
export const NATIVE_PG = 3;

/** Indexes into stats(). */
export const STAT = {
  rows: 0,
  timeouts: 1,
  orphanResponses: 2,
  parseErrors: 3,
  gaps: 4,
  reordered: 5,
  bufferOverflows: 6,
  pendingOverflows: 7,
  flowsFailed: 8,
  bufferedBytes: 9,
  heldBytes: 10,
  pending: 11,
  maxPendingPerFlow: 12,
  flows: 13,
  folded: 14,
  lateRows: 15,
  outputFailed: 16,
  /** Application-metrics rows made in C (written by the thread in own-thread mode). */
  appMetricsRows: 17,
  /** The errno of the thread's first failed write, or 0. */
  writeErrno: 18,
  /** 1 when the thread wrote l7_flow_log or application_metrics with O_DIRECT (see the C). */
  directWrites: 19,
  /** 1 when the thread read the capture file itself (readFile()), 2 when it then fell back to pread. */
  fileRead: 20,
} as const;

interface Addon {
  create(cfg: NativeRowsConfig): NativeRows;
}

// _GNU_SOURCE before any header: O_DIRECT (the row thread's output, see http1-rows-c.ts).
const SOURCE = `#define _GNU_SOURCE 1\n${ROWS_COMMON_C}\n${HTTP1_SCAN_C}\n${APP_METRICS_C}\n${HTTP1_ROWS_C}\n${DNS_ROWS_C}\n${REDIS_ROWS_C}\n${PG_ROWS_C}`;

let addon: Addon | string | undefined;

/** The addon, or why the JS path runs (FLOWPLANE_L7_NATIVE=0 is read at every call). */
export function nativeRowsAddon(): Addon | string {
  if (process.env.FLOWPLANE_L7_NATIVE === "0") return "off (FLOWPLANE_L7_NATIVE=0)";
  if (addon === undefined) {
    const file = privateSourceFile("http1-rows", SOURCE);
    addon =
      typeof file !== "string"
        ? `http1-rows addon unavailable (${file.reason})`
        : buildAddon<Addon>({ name: "http1-rows", source: pathToFileURL(file) });
  }
  return addon;
}
