/**
 * Shard worker of the decode-once pipeline: takes batches of decoded-packet records from a
 * shared-memory ring filled by the dispatcher (see dispatch-analyze.ts) and runs its own flow
 * engine over them. Rows: an L4 part file when there is an output directory, else batches to
 * the parent; metrics rows go to the parent (it sums keys split across shards), except native
 * HTTP/1 application-metrics rows (JSONL bytes), which go to a part file of their own.
 */
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import type { L7Row } from "../l7/index.ts";
import { JsonlWriter } from "../output/jsonl-writer.ts";
import { rawRowsInto } from "../output/raw-rows.ts";
import { createEngine, type EngineOptions, type L4FlowRow, type NetworkMetricsRow } from "./flow-engine.ts";
import { REC_BASE, REC_TS, readRecord, recordWords } from "./meta-record.ts";
import { RowBatches } from "./row-batches.ts";
import { CompactRows } from "./shard-rows.ts";

export interface DispatchWorkerData {
  index: number;
  slots: number;
  /** Words of a slot; control word 3 + slot says how many of them hold records. */
  slotWords: number;
  /** Words after each record's base: the payload offset and length when L7 is on. */
  extra: number;
  /** Control words: [head, tail, done, words filled per slot...]. */
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  /** Captured payload bytes per batch slot (L7 on), addressed by record words 12-13. */
  payloadRing?: SharedArrayBuffer;
  payloadBytes: number;
  /**
   * Moved blocks (one worker, see dispatch-analyze.ts): the dispatcher posts each block of the
   * file here once its batches are published, and record word 12 is its id * `blockBytes` + the
   * offset in it; `blockCtl` counts blocks posted [0] and given back [1].
   */
  blockPort?: MessagePort;
  blockCtl?: SharedArrayBuffer;
  blockBytes: number;
  l4File?: string;
  l7File?: string;
  /**
   * Set when nobody wants row objects: the L7 processor gets `rawRows` (native HTTP/1 rows as
   * JSONL bytes) for the l7 part file and this application-metrics part file.
   */
  amFile?: string;
  wantL7Rows: boolean;
  /** Path of the L7 bundle (worker-bundle.ts) when L7 is on. */
  l7Bundle?: string;
  wantRows: boolean;
  engine: EngineOptions;
}

const HEAD = 0;
const TAIL = 1;
const DONE = 2;

const d = workerData as DispatchWorkerData;
if (!parentPort) throw new Error("dispatch-worker must run in a worker thread");
const port = parentPort;

const ctl = new Int32Array(d.control);
const words = new Int32Array(d.ring);
const times = new Float64Array(d.ring);
// Payloads as Buffers (views, no copy), as the reading thread and the L7 warm-up pass them, so
// the L7 parsers see the one receiver map they were warmed up with (a plain Uint8Array is a
// second one). No CPU difference was measurable at load 12-15 (l7-two-workers-session5.md).
const payload = d.payloadRing ? Buffer.from(d.payloadRing) : undefined;
const file = d.l4File ? new JsonlWriter(d.l4File) : undefined;
const l4 = new RowBatches<L4FlowRow>(port, "l4");
const nm = new RowBatches<NetworkMetricsRow>(port, "nm");
const l7 = new RowBatches<L7Row>(port, "l7");
const am = new CompactRows(port, d.index);
let l7Count = 0;
const l7File = d.l7File ? new JsonlWriter(d.l7File) : undefined;
const amFile = d.amFile ? new JsonlWriter(d.amFile) : undefined;
const raw = { l7: 0, appMetrics: 0 };
type CreateL7 = typeof import("../l7/index.ts").createL7Processor;

/**
 * Blocks held here, oldest first: a record of block b means every batch published before b's
 * was consumed (batches come in file order), so older blocks go back; when the ring is empty
 * after receiving, every block held has its batches consumed and all go back.
 */
class Blocks {
  readonly ctl: Int32Array;
  private readonly held: { id: number; buf: Uint8Array }[] = [];
  constructor(
    private readonly port: MessagePort,
    ctl: SharedArrayBuffer,
  ) {
    this.ctl = new Int32Array(ctl);
  }

  /** Block `id` (waiting for it if not posted yet); the older ones are given back. */
  get(id: number): Uint8Array {
    for (;;) {
      while (this.held.length > 0) {
        const b = this.held[0]!;
        if (b.id === id) return b.buf;
        this.held.shift();
        this.giveBack(b.buf, b.id);
      }
      const seen = Atomics.load(this.ctl, 0);
      if (!this.receive()) Atomics.wait(this.ctl, 0, seen, 50);
    }
  }

  /** Receives what was posted; true if anything was. */
  receive(): boolean {
    let any = false;
    for (;;) {
      const m = receiveMessageOnPort(this.port) as { message: { id: number; buf: ArrayBuffer } } | undefined;
      if (m === undefined) return any;
      this.held.push({ id: m.message.id, buf: Buffer.from(m.message.buf) });
      any = true;
    }
  }

  /** Every block back (the ring is empty: their batches are consumed). */
  giveBackAll(): void {
    for (const b of this.held) this.giveBack(b.buf, b.id);
    this.held.length = 0;
  }

  private giveBack(buf: Uint8Array, id: number): void {
    this.port.postMessage({ id, buf: buf.buffer }, [buf.buffer as ArrayBuffer]);
    Atomics.add(this.ctl, 1, 1);
    Atomics.notify(this.ctl, 1);
  }
}
const blocks = d.blockPort && d.blockCtl ? new Blocks(d.blockPort, d.blockCtl) : undefined;

// A CommonJS bundle (no ESM loader to start: ~5-10 ms of CPU less a worker), so no top-level
// await: the L7 code, a bundle of its own built by the parent only when L7 is on (an L4-only
// worker never parses it), is imported before the run starts.
if (d.l7Bundle) {
  void import(d.l7Bundle).then((l7: typeof import("../l7/index.ts")) => run(l7.createL7Processor));
} else run(undefined);

function run(createL7: CreateL7 | undefined): void {
  const engine = createEngine({
    ...d.engine,
    createL7,
    l7: d.engine.l7
      ? {
          ...d.engine.l7,
          ...(amFile ? { rawRows: rawRowsInto(l7File, amFile, raw) } : {}),
          onL7: (r) => {
            l7Count++;
            l7File?.write(r);
            if (d.wantL7Rows) l7.push(r);
          },
          // Row objects to the parent: one key can be served on several shards and is summed there.
          onAppMetrics: am.push,
        }
      : undefined,
    onL4: (r) => {
      file?.write(r);
      if (d.wantRows) l4.push(r);
    },
    onNetworkMetrics: nm.push,
  });
  const m = engine.meta;
  const extra = d.extra;
  const blockBytes = d.blockBytes;
  // Moved blocks: the current one and its range of record word 12.
  let cur: Uint8Array = Buffer.alloc(0);
  let curLo = 0;
  let curHi = 0;
  let tail = 0;
  try {
    for (;;) {
      const head = Atomics.load(ctl, HEAD);
      if (tail < head) {
        const slot = tail % d.slots;
        const base = slot * d.slotWords;
        const end = base + Atomics.load(ctl, 3 + slot);
        for (let o = base; o < end; ) {
          const a = words[o]!;
          // Word 0 = 0 (no IP version): a clock record, so every shard ticks at every second of
          // packet time like a single engine does, not only when one of its own packets arrives.
          if (a === 0) {
            engine.tick(times[(o + REC_TS) >> 1]!);
            o += REC_BASE + extra;
            continue;
          }
          const wire = readRecord(m, words, o, extra);
          if (blocks !== undefined) {
            const at = words[o + REC_BASE]!;
            if (at < curLo || at >= curHi) {
              const id = Math.floor(at / blockBytes);
              cur = blocks.get(id);
              curLo = id * blockBytes;
              curHi = curLo + blockBytes;
            }
            engine.decoded(wire, times[(o + REC_TS) >> 1]!, cur, at - curLo, words[o + REC_BASE + 1]!);
          } else if (payload !== undefined) {
            engine.decoded(
              wire,
              times[(o + REC_TS) >> 1]!,
              payload,
              // payloadBytes 0: the dispatcher's shared blocks, addressed directly.
              slot * d.payloadBytes + words[o + REC_BASE]!,
              words[o + REC_BASE + 1]!,
            );
          } else engine.decoded(wire, times[(o + REC_TS) >> 1]!);
          o += recordWords(a, extra);
        }
        tail++;
        Atomics.store(ctl, TAIL, tail);
        Atomics.notify(ctl, TAIL);
        continue;
      }
      if (Atomics.load(ctl, DONE) === 1 && Atomics.load(ctl, HEAD) === tail) break;
      if (blocks !== undefined) {
        blocks.receive();
        if (Atomics.load(ctl, HEAD) === tail) {
          blocks.giveBackAll();
          curLo = curHi = 0;
        }
      }
      Atomics.wait(ctl, HEAD, head, 50);
    }
  } catch (err) {
    // Unblock the dispatcher (it waits on TAIL while this ring is full), then fail the run.
    Atomics.store(ctl, TAIL, 0x3fffffff);
    Atomics.notify(ctl, TAIL);
    throw err;
  }
  d.blockPort?.close();
  engine.flush();
  file?.close();
  l7File?.close();
  amFile?.close();
  l7.flush();
  am.flush();
  l4.flush();
  nm.flush();
  port.postMessage({
    type: "done",
    stats: {
      ...engine.stats(),
      l7Rows: l7Count + raw.l7,
      rawAppMetricRows: raw.appMetrics,
      l7RowPath: engine.l7RowPath(),
    },
  });
}
