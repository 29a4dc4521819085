/**
 * Decode-once multi-worker analysis with N shards on N threads. This thread reads the capture
 * and decodes every packet once, picks the shard from a table of 256 buckets of the symmetric
 * 5-tuple hash (later IP fragments follow the shard of their first fragment), runs shard 0's
 * flow engine itself, and appends a record (meta-record.ts) for every other shard's packet to
 * that shard's ring of batches in shared memory; worker threads 1..N-1 each run a flow engine
 * over their records. Shard 0 gets the share of buckets that evens out the threads' work
 * (`ownShare`): none L4-only, where decoding costs as much as the engine. Before, every shard
 * had a worker: workers = cores meant cores + 1 busy threads (2 workers ran at 0.4-0.7× of one
 * on 2 cores). Rings are bounded (Atomics.wait when a worker falls behind): memory stays flat.
 * With L7 on, workers need payloads: a classic pcap file is then read in blocks of shared memory
 * that the records point into (`readShared`); other input has its payloads copied into a lane.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { AnalyzeOptions, AnalyzeResult } from "../analyze.ts";
import { readCaptureFile } from "../capture/capture-file.ts";
import { ChunkedSource } from "../capture/chunked-source.ts";
import { MAX_PACKET, type PacketHandler, type ReadErrorHandler } from "../capture/packet-sink.ts";
import { readCompleteRecords, readPcapRecords } from "../capture/pcap-reader.ts";
import { decodeFrame } from "../decode/packet.ts";
import { DECODE_ERROR_NAMES, DecodeError, PacketMeta } from "../decode/packet-meta.ts";
import { JsonlWriter } from "../output/jsonl-writer.ts";
import { rawRowsInto, wantsRawRows } from "../output/raw-rows.ts";
import { createEngine, type EngineStats } from "./flow-engine.ts";
import { flowHash } from "./flow-table.ts";
import { REC_BASE, REC_MAX, writeClock, writeRecord } from "./meta-record.ts";
import { ShardRows, type ShardRowsMsg } from "./shard-rows.ts";
import { bundleExecArgv, workerBundle } from "./worker-bundle.ts";

// 32 slots of 128 Ki words (16 MiB a lane, ~350 k IPv4 records): the dispatcher runs that far
// ahead while a worker starts (~35 ms of CPU, 100-300 ms of wall clock measured at load 9)
// instead of stalling on a full ring.
const SLOTS = 32;
const SLOT_WORDS = 1 << 17;
/** Payload bytes per batch slot when L7 is on: a batch is published early when they run out. */
const PAYLOAD_BYTES = 1 << 20;
const FRAG_SLOTS = 4096;
/**
 * Shared reading (L7 on, classic pcap): the file is read in blocks straight into shared memory
 * and a worker's record points at its payload there, instead of this thread copying every payload
 * byte into a lane (on web-1m.pcap, 3.5 GB, that copy cost this thread ~1.4 s of CPU against
 * ~1 s for reading and decoding). A block is refilled once every lane has consumed the batches
 * that reference it.
 */
const BLOCK_BYTES = 4 << 20;
const BLOCKS = 8;
/**
 * With one worker the blocks are plain ArrayBuffers moved to the worker (postMessage transfer)
 * once this thread is done with them, and moved back when the worker is: Buffer's native
 * `indexOf` (the L7 parsers' line search) takes a slow path on a view of a SharedArrayBuffer,
 * 29 against 16 ns a call in a micro-benchmark, and in the worker's profile ~0.25 s of the
 * ~1.3x it spent on the same L7 work as one thread (web-1m.pcap, 6 M calls).
 */
const MOVE_MAX_BLOCK = 8 << 20;

type WorkerStats = EngineStats & {
  l7Rows?: number;
  /** Application-metrics rows the worker wrote to its part file (native rows). */
  rawAppMetricRows?: number;
  /** Its L7 processor's `nativeKind`. */
  l7RowPath?: string;
};
type Msg = ShardRowsMsg | { type: "done"; stats: WorkerStats };

interface Lane {
  ctl: Int32Array;
  words: Int32Array;
  times: Float64Array;
  payload: Uint8Array | null;
  head: number;
  /** First word of the slot being filled, and words filled in it. */
  base: number;
  fill: number;
  pfill: number;
}

/** Knobs for tests and measurements. */
export interface DispatchTuning {
  /** Share of the flow hash buckets run by this thread (default `ownShare(count, l7)`). */
  ownShare?: number;
  /** With L7 on, copy payloads into the lanes even from a pcap file (the path before shared reading). */
  copyPayloads?: boolean;
  /** Shared reading: bytes a block (at least 16 + MAX_PACKET) and blocks (at least 2). */
  blockBytes?: number;
  blocks?: number;
  /** With one worker, share the blocks (SharedArrayBuffer) instead of moving them. */
  sharedBlocks?: boolean;
  /** Split by bucket count (`shardTable`) even when the file's head was sampled (the split before). */
  countBuckets?: boolean;
}

export async function analyzeFileDispatched(
  path: string,
  opts: AnalyzeOptions,
  tuning: DispatchTuning = {},
): Promise<AnalyzeResult> {
  const started = performance.now();
  const count = Math.max(1, Math.min(32, opts.workers ?? 2));
  const startSeconds = opts.startSeconds ?? Math.floor(Date.now() / 1000);
  const wantRows = opts.onL4 !== undefined;
  if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
  const l7On = opts.l7 !== undefined;
  const wantL7Rows = opts.onL7 !== undefined;
  // Nobody asked for row objects (analyze.ts's condition): each shard's processor may hand its
  // HTTP/1 rows over as JSONL bytes (the native row path), written to the shard's part files as
  // they are. Application metrics then go to an application_metrics part per shard too, not to
  // this thread to be summed per key: a key served on several shards has a row in each (see
  // ShardRows.finish).
  const rawRows = wantsRawRows(opts);
  const part = (name: string, index: number) =>
    opts.outDir ? join(opts.outDir, `${name}.part${index}`) : undefined;
  const engineOpts = (index: number) => {
    const engine: Record<string, unknown> = {
      orgId: opts.orgId,
      agentId: opts.agentId,
      maxFlows: opts.maxFlows !== undefined ? Math.ceil(opts.maxFlows / count) : undefined,
      timeouts: opts.timeouts,
      reportIntervalS: opts.reportIntervalS,
      startSeconds,
      shard: index,
      // Callbacks stay here: the worker posts L7 rows back or writes its part file.
      l7: opts.l7 ? { ...opts.l7, onL7: undefined, onAppMetrics: undefined } : undefined,
    };
    for (const k of Object.keys(engine)) if (engine[k] === undefined) delete engine[k];
    return engine;
  };
  // Record words 12-13 give a packet's offset and length in its slot's payload bytes (L7 on).
  const extra = l7On ? 2 : 0;
  const shardRows = new ShardRows(opts);
  const stats: EngineStats[] = [];
  const exits: Promise<void>[] = [];
  // Lane i - 1 feeds worker i; shard 0 is this thread's. Workers are started before anything
  // else here, so their start-up (thread, bundle, warm-up: 60-100 ms of CPU each, far more wall
  // clock on a busy machine) overlaps with this thread's own warm-up and reading.
  const lanes: Lane[] = [];
  const header = l7On && count > 1 && !tuning.copyPayloads ? pcapHeader(path) : undefined;
  // Moved blocks: records of one block must fit in the ring (the worker waits for a block
  // while this thread may still fill batches pointing into it): 8 MiB of 58-byte records is
  // ~2 M words, the ring 4 M.
  const moved = header !== undefined && count === 2 && !tuning.sharedBlocks;
  const blockBytes = Math.max(
    16 + MAX_PACKET,
    moved ? Math.min(MOVE_MAX_BLOCK, tuning.blockBytes ?? BLOCK_BYTES) : (tuning.blockBytes ?? BLOCK_BYTES),
  );
  const blockCount = Math.max(2, tuning.blocks ?? BLOCKS);
  const blocks = header && !moved ? new SharedArrayBuffer(blockBytes * blockCount) : undefined;
  const mover = moved ? new BlockMover(blockBytes, blockCount) : undefined;
  if (count > 1) {
    const script = await workerBundle(new URL("./dispatch-worker.ts", import.meta.url), "cjs");
    const l7Bundle = l7On ? await workerBundle(new URL("../l7/index.ts", import.meta.url)) : undefined;
    for (let index = 1; index < count; index++) {
      const control = new SharedArrayBuffer(4 * (3 + SLOTS));
      const ring = new SharedArrayBuffer(4 * SLOT_WORDS * SLOTS);
      const payloadRing =
        blocks ?? (l7On && !mover ? new SharedArrayBuffer(PAYLOAD_BYTES * SLOTS) : undefined);
      lanes.push({
        ctl: new Int32Array(control),
        words: new Int32Array(ring),
        times: new Float64Array(ring),
        payload: payloadRing && !blocks ? new Uint8Array(payloadRing) : null,
        head: 0,
        base: 0,
        fill: 0,
        pfill: 0,
      });
      const w = new Worker(script, {
        execArgv: bundleExecArgv(),
        workerData: {
          index,
          slots: SLOTS,
          slotWords: SLOT_WORDS,
          extra,
          control,
          ring,
          payloadRing,
          // 0: record word 12 is an offset into the shared blocks, not into a slot's bytes.
          payloadBytes: blocks || mover ? 0 : PAYLOAD_BYTES,
          blockPort: mover?.workerPort,
          blockCtl: mover?.ctl.buffer,
          blockBytes,
          l4File: part("l4_flow_log.jsonl", index),
          l7File: l7On ? part("l7_flow_log.jsonl", index) : undefined,
          amFile: rawRows ? part("application_metrics.jsonl", index) : undefined,
          wantL7Rows,
          l7Bundle,
          wantRows,
          engine: engineOpts(index),
        },
        transferList: mover ? [mover.workerPort] : [],
      });
      exits.push(
        new Promise<void>((resolve, reject) => {
          w.on("message", (msg: Msg) => {
            if (msg.type === "done") stats[index] = msg.stats;
            else shardRows.add(msg);
          });
          w.on("error", reject);
          w.on("exit", (code) =>
            code === 0 ? resolve() : reject(new Error(`dispatch worker ${index} exited with ${code}`)),
          );
        }),
      );
    }
  }

  // Shard 0: an engine in this thread, fed the packets it decodes (no record, no copy); none
  // when it gets no flows (its part files stay empty).
  const sample = l7On && count > 1 ? sampleHead(path, opts.vxlanPort, opts.genevePort) : undefined;
  // HTTP/1 flows on the native row path cost the engine's side less: weighed as such.
  const native =
    sample !== undefined &&
    rawRows &&
    (opts.l7?.protocols === undefined || opts.l7.protocols.includes("http")) &&
    typeof (await import("../l7/native/http1-rows.ts")).nativeRowsAddon() !== "string";
  const weights = sample && (native ? sample.nativeWeights : sample.weights);
  const share =
    tuning.ownShare ??
    ownShare(
      count,
      l7On,
      sample?.bytesPerPacket,
      sample && native ? total(sample.weights) / Math.max(1, total(sample.nativeWeights)) : 1,
    );
  const shardOf =
    weights && !tuning.countBuckets ? weightedShardTable(count, share, weights) : shardTable(count, share);
  const l4File = opts.outDir ? new JsonlWriter(part("l4_flow_log.jsonl", 0) as string) : undefined;
  const l7File = opts.outDir && l7On ? new JsonlWriter(part("l7_flow_log.jsonl", 0) as string) : undefined;
  let ownL7Rows = 0;
  const ownRaw = { l7: 0, appMetrics: 0 };
  const amFile =
    rawRows && shardOf.includes(0)
      ? new JsonlWriter(part("application_metrics.jsonl", 0) as string)
      : undefined;
  const engine = !shardOf.includes(0)
    ? null
    : createEngine({
        ...engineOpts(0),
        vxlanPort: opts.vxlanPort,
        genevePort: opts.genevePort,
        createL7: l7On ? (await import("../l7/index.ts")).createL7Processor : undefined,
        l7: opts.l7
          ? {
              ...opts.l7,
              ...(amFile ? { rawRows: rawRowsInto(l7File, amFile, ownRaw) } : {}),
              onL7: (r) => {
                ownL7Rows++;
                l7File?.write(r);
                opts.onL7?.(r);
              },
              onAppMetrics: (r) => shardRows.appMetric(r),
            }
          : undefined,
        onL4: (r) => {
          l4File?.write(r);
          opts.onL4?.(r);
        },
        onNetworkMetrics: (r) => shardRows.metric(r),
      });

  const publish = (lane: Lane) => {
    const slot = lane.head % SLOTS;
    Atomics.store(lane.ctl, 3 + slot, lane.fill);
    lane.head++;
    Atomics.store(lane.ctl, 0, lane.head);
    Atomics.notify(lane.ctl, 0);
    lane.base = (lane.head % SLOTS) * SLOT_WORDS;
    lane.fill = 0;
    lane.pfill = 0;
    // Wait for a free slot before the next batch is written.
    for (;;) {
      const tail = Atomics.load(lane.ctl, 1);
      if (lane.head - tail < SLOTS) break;
      Atomics.wait(lane.ctl, 1, tail, 100);
    }
  };

  // Dispatcher-side counters (per packet, not per flow).
  const own = {
    packets: 0,
    bytes: 0,
    nonIp: 0,
    decodeErrors: 0,
    byKind: {} as Record<string, number>,
    first: [] as { kind: string; offset: number }[],
    firstTs: 0,
    lastTs: 0,
  };
  const countError = (kind: string, offset: number) => {
    own.decodeErrors++;
    own.byKind[kind] = (own.byKind[kind] ?? 0) + 1;
    if (own.first.length < 10) own.first.push({ kind, offset });
  };
  // Decoded straight into shard 0's record: its packets need no copy.
  const m = engine?.meta ?? new PacketMeta();
  if (opts.vxlanPort !== undefined) m.vxlanPort = opts.vxlanPort;
  if (opts.genevePort !== undefined) m.genevePort = opts.genevePort;
  const fragKey = new Int32Array(FRAG_SLOTS * 4);
  const fragShard = new Int32Array(FRAG_SLOTS).fill(-1);
  let now = 0;
  let nextSecond = 0;
  const progress = opts.onProgress;
  let sinceProgress = 0;
  /** File offset of offset 0 of the buffer the reader walks (shared reading: of the block). */
  let foBase = 0;
  /** Moved blocks: where record word 12 of the block being read starts (its id * block bytes). */
  let blockAt = 0;
  const onPacket = (
    lt: number,
    buf: Uint8Array,
    off: number,
    cap: number,
    wire: number,
    ts: number,
    fo0: number,
  ) => {
    const fo = fo0 + foBase;
    own.packets++;
    own.bytes += wire;
    if (own.firstTs === 0) own.firstTs = ts;
    if (ts > now) {
      now = ts;
      if (now >= nextSecond) {
        nextSecond = Math.floor(now / 1e6) * 1e6 + 1e6;
        // Every shard ticks at every second of packet time, as one engine would.
        engine?.tick(now);
        for (const lane of lanes) {
          if (lane.fill > SLOT_WORDS - REC_MAX) publish(lane);
          lane.fill += writeClock(lane.words, lane.times, lane.base + lane.fill, now, extra);
        }
      }
    }
    own.lastTs = now;
    if (progress && ++sinceProgress === 65536) {
      sinceProgress = 0;
      progress(fo, 0);
    }
    const err = decodeFrame(m, lt, buf, off, cap);
    if (err !== DecodeError.ok) {
      if (err === DecodeError.notIp) own.nonIp++;
      else countError(DECODE_ERROR_NAMES[err] ?? "unknown", fo);
      return;
    }
    let shard = shardOf[(flowHash(m) >>> 0) & (BUCKETS - 1)]!;
    if (m.fragment === 1) {
      let h = Math.imul(m.fragSrc ^ Math.imul(m.fragDst, 31) ^ m.fragId, 0x9e3779b1) ^ m.fragProto;
      h = (h ^ (h >>> 16)) & (FRAG_SLOTS - 1);
      const k = h * 4;
      if (m.laterFragment === 0) {
        fragKey[k] = m.fragSrc;
        fragKey[k + 1] = m.fragDst;
        fragKey[k + 2] = m.fragId;
        fragKey[k + 3] = m.fragProto;
        fragShard[h] = shard;
      } else if (
        fragShard[h]! >= 0 &&
        fragKey[k] === m.fragSrc &&
        fragKey[k + 1] === m.fragDst &&
        fragKey[k + 2] === m.fragId &&
        fragKey[k + 3] === m.fragProto
      ) {
        shard = fragShard[h]!;
      }
    }
    const withPayload =
      l7On && m.payloadLen > 0 && m.laterFragment === 0 && (m.proto === 6 || m.proto === 17);
    let plen = 0;
    if (withPayload) plen = Math.max(0, Math.min(m.payloadLen, off + cap - m.payloadOffset, PAYLOAD_BYTES));
    if (engine !== null && shard === 0) {
      if (l7On) engine.decoded(wire, now, buf, m.payloadOffset, plen);
      else engine.decoded(wire, now);
      return;
    }
    const lane = lanes[shard - 1] as Lane;
    if (
      lane.fill > SLOT_WORDS - REC_MAX ||
      (plen > 0 && lane.payload !== null && lane.pfill + plen > PAYLOAD_BYTES)
    )
      publish(lane);
    const o = lane.base + lane.fill;
    lane.fill += writeRecord(m, lane.words, lane.times, o, wire, now, extra);
    if (blocks !== undefined || mover !== undefined) {
      // Moved blocks: block id * block bytes + offset in the block.
      lane.words[o + REC_BASE] = blockAt + buf.byteOffset + m.payloadOffset;
      lane.words[o + REC_BASE + 1] = plen;
    } else if (lane.payload !== null) {
      const at = (lane.head % SLOTS) * PAYLOAD_BYTES + lane.pfill;
      if (plen > 0) copyBytes(buf, m.payloadOffset, plen, lane.payload, at);
      lane.words[o + REC_BASE] = lane.pfill;
      lane.words[o + REC_BASE + 1] = plen;
      lane.pfill += plen;
    }
  };
  if (header && mover) {
    readMoved(path, header, mover, lanes[0]!, publish, onPacket, countError, (b, at) => {
      foBase = b;
      blockAt = at;
    });
  } else if (header && blocks) {
    readShared(path, header, blocks, blockBytes, lanes, publish, onPacket, countError, (b) => {
      foBase = b;
    });
  } else readCaptureFile(path, onPacket, countError);
  for (const lane of lanes) {
    if (lane.fill > 0) publish(lane);
    Atomics.store(lane.ctl, 2, 1);
    Atomics.notify(lane.ctl, 0);
  }
  engine?.flush();
  l4File?.close();
  l7File?.close();
  amFile?.close();
  if (engine) stats[0] = engine.stats();
  const rowPaths = engine ? [engine.l7RowPath()] : [];
  await Promise.all(exits);
  for (let i = 1; i < count; i++) rowPaths.push((stats[i] as WorkerStats).l7RowPath ?? "");

  const { metricRows, appMetricRows: summedAppMetricRows } = shardRows.finish(count, l7On, rawRows);
  let appMetricRows = summedAppMetricRows + ownRaw.appMetrics;
  for (let i = 1; i < count; i++) appMetricRows += (stats[i] as WorkerStats).rawAppMetricRows ?? 0;
  const sum = (k: keyof EngineStats) => stats.reduce((s, x) => s + (x[k] as number), 0);
  const l4Rows = sum("flowsReported");
  const merged: EngineStats = {
    packets: own.packets,
    bytes: own.bytes,
    flowPackets: sum("flowPackets"),
    nonIp: own.nonIp,
    decodeErrors: own.decodeErrors,
    decodeErrorsByKind: own.byKind,
    firstErrorOffsets: own.first,
    flowsCreated: sum("flowsCreated"),
    flowsReported: l4Rows,
    activeFlows: sum("activeFlows"),
    maxConcurrentFlows: sum("maxConcurrentFlows"),
    evictions: sum("evictions"),
    skippedOtherShards: 0,
    firstTs: own.firstTs,
    lastTs: own.lastTs,
  };
  const elapsedMs = performance.now() - started;
  return {
    file: path,
    stats: merged,
    l4Rows,
    metricRows,
    l7Rows:
      ownL7Rows +
      ownRaw.l7 +
      stats.reduce((s, x, i) => s + (i === 0 ? 0 : ((x as WorkerStats).l7Rows ?? 0)), 0),
    appMetricRows,
    elapsedMs,
    packetsPerSecond: own.packets / Math.max(elapsedMs / 1000, 1e-9),
    workers: count,
    // "native" when every shard's processor ran it, else the first shard's reason why not.
    ...(opts.l7 ? { l7RowPath: rowPaths.find((k) => k !== "native") ?? "native" } : {}),
  };
}

/**
 * Decoding and hand-off cost in this thread relative to the flow engine's cost, per packet
 * (measured with per-thread CPU on bench/out/real-1m.pcap, 2026-11-26): L4 only the two are
 * about equal; with L7 the engine's side is about twice as heavy (fitted with the sampled split,
 * see `ownShare`).
 */
const DECODE_PER_ENGINE = { l4: 1, l7: 0.49 };

/**
 * This thread's share of the flows so that it and each worker get the same work: it decodes
 * every packet (d per unit of engine work) and runs share s of the engine, a worker runs
 * (1 - s) / (count - 1): d + s = (1 - s) / (count - 1). L4 only this is 0 (this thread only
 * decodes); with L7 and 2 shards about 0.3. Reading a pcap file costs this thread more per
 * packet the bigger the packets, so with its mean captured bytes a packet d grows: fitted to two
 * captures (2026-11-26, per-thread CPU of 2 workers): real-1m.pcap (152 B a packet in its first
 * 4 MiB) best near 0.3; web-1m.pcap (2.2 KB, 3.5 GB in all) 0.2 (longest thread 2.36-2.44 s;
 * 0.1: 2.39-2.52 s, 0 and 0.3: 2.6-2.9 s). Those were shares of the bucket count, and gave this
 * thread 1.5 % of web-1m's L7 rows. With L7 the share now applies to the work sampled in the
 * file's head (`weightedShardTable`), refitted on both captures (2 workers, per-thread CPU,
 * 2026-11-26, load 7-11): web-1m.pcap (2.7 KB a packet in its head) 0.165 gave this thread 10.7 %
 * of the L7 rows and left the worker the longer thread (3.04 against 2.36 s), 0.22 gives it 22 %
 * (2.60 against 2.43 s); real-1m.pcap (306 B) 0.29: this thread 1.46-1.60 s, the worker
 * 1.33-1.37; 0.25: 1.37-1.42 and 1.44-1.46. Now 0.22 and 0.25
 * (docs/notes/l7-two-workers-session5.md).
 *
 * `workScale`: the sampled engine work of the JS row path over that of the rows actually made
 * (HTTP/1 flows on the native row path weigh less, `NATIVE_HTTP_WEIGHT`): this thread's decoding
 * is that much heavier relative to the engine's work.
 */
export function ownShare(count: number, l7: boolean, bytesPerPacket?: number, workScale = 1): number {
  if (count <= 1) return 1;
  const w = 1 / (count - 1);
  const d = !l7 ? DECODE_PER_ENGINE.l4 : (DECODE_PER_ENGINE.l7 + (bytesPerPacket ?? 0) / 40_000) * workScale;
  return Math.max(0, (w - d) / (1 + w));
}

/** Bytes of the file's head sampled for the shards' split (`sampleHead`). */
const SAMPLE_BYTES = 4 << 20;
/**
 * Weight of a packet with a TCP or UDP payload in the head sample, one without being 1: with L7
 * on, a payload costs the engine and the L7 parser, its row and its metrics ~5x what the flow
 * engine alone spends on a packet (L7 cost, session 4: ~2.5 us a request/response pair, the
 * engine ~0.3 us a packet).
 */
const PAYLOAD_WEIGHT = 5;
/**
 * `PAYLOAD_WEIGHT` of a payload packet of an HTTP/1 flow whose rows the native row path makes
 * (the rows and metrics in C). Fitted on web-1m.pcap (2 workers, native rows, per-thread CPU,
 * 2026-11-27, load ~4 from another process): its head is all HTTP/1 (916 of 1041 packets with
 * payload, 4 KB a packet), and the threads were even near a share of 0.06-0.08 (0.03: this
 * thread 1.09-1.23 s, the worker 1.23-1.39; 0.06: 1.25-1.31 and 1.32-1.44; 0.1: 1.45-1.5 and
 * 1.2-1.34; the JS-path fit's 0.22: 1.61-2.1 and 1.07-1.13), i.e. this thread's decoding 1.46x
 * heavier relative to the engine's work than with JS rows.
 */
const NATIVE_HTTP_WEIGHT = 3;
/** First 4 bytes of a payload that starts an HTTP/1 message (`sampleHead`: little-endian words). */
const HTTP1_STARTS = new Set(
  ["GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN", "TRAC", "HTTP"].map((t) =>
    Buffer.from(t, "latin1").readUInt32LE(0),
  ),
);

export interface HeadSample {
  /** Mean captured bytes a packet. */
  bytesPerPacket: number;
  /** Work seen in each of the 256 flow hash buckets (`PAYLOAD_WEIGHT`). */
  weights: Float64Array;
  /** The same with HTTP/1 flows' payload packets weighed for the native row path (`NATIVE_HTTP_WEIGHT`). */
  nativeWeights: Float64Array;
}

/**
 * The first 4 MiB of a classic pcap file decoded: mean captured bytes a packet and the work per
 * hash bucket; undefined for pcapng or none.
 */
export function sampleHead(path: string, vxlanPort?: number, genevePort?: number): HeadSample | undefined {
  const [b, n] = readHead(path, SAMPLE_BYTES);
  const h = parsePcapHeader(b, n);
  if (!h) return undefined;
  const le = h.le;
  const m = new PacketMeta();
  if (vxlanPort !== undefined) m.vxlanPort = vxlanPort;
  if (genevePort !== undefined) m.genevePort = genevePort;
  const weights = new Float64Array(BUCKETS);
  const nativeWeights = new Float64Array(BUCKETS);
  // Flows (by hash) with a payload that started an HTTP/1 message.
  const http = new Set<number>();
  let packets = 0;
  let bytes = 0;
  for (let o = 24; o + 16 <= n; ) {
    const incl = le ? b.readUInt32LE(o + 8) : b.readUInt32BE(o + 8);
    if (incl > MAX_PACKET || o + 16 + incl > n) break;
    packets++;
    bytes += incl;
    if (decodeFrame(m, h.linkType, b, o + 16, incl) === DecodeError.ok && m.laterFragment === 0) {
      const fh = flowHash(m) >>> 0;
      const bucket = fh & (BUCKETS - 1);
      if (m.payloadLen === 0) {
        weights[bucket]! += 1;
        nativeWeights[bucket]! += 1;
      } else {
        if (
          m.proto === 6 &&
          m.payloadOffset + 4 <= o + 16 + incl &&
          HTTP1_STARTS.has(b.readUInt32LE(m.payloadOffset))
        )
          http.add(fh);
        weights[bucket]! += 1 + PAYLOAD_WEIGHT;
        nativeWeights[bucket]! += 1 + (http.has(fh) ? NATIVE_HTTP_WEIGHT : PAYLOAD_WEIGHT);
      }
    }
    o += 16 + incl;
  }
  return packets > 0 ? { bytesPerPacket: bytes / packets, weights, nativeWeights } : undefined;
}

function total(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x;
  return s;
}

const BUCKETS = 256;

/**
 * Copies `n` bytes: small payloads (most: Redis commands, DNS, ACK-sized segments) in a loop,
 * since `set(subarray())` allocated a view per packet, large ones with one native copy.
 */
function copyBytes(src: Uint8Array, from: number, n: number, dst: Uint8Array, to: number): void {
  if (n > 64) {
    dst.set(src.subarray(from, from + n), to);
    return;
  }
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
}

/** Shard of each hash bucket: `ownShare` of them for shard 0 (this thread), the rest dealt round. */
export function shardTable(count: number, ownShare: number): Uint8Array {
  const t = new Uint8Array(BUCKETS);
  if (count === 1) return t;
  const own = Math.round(BUCKETS * ownShare);
  for (let b = 0; b < BUCKETS; b++) t[b] = b < own ? 0 : 1 + ((b - own) % (count - 1));
  return t;
}

/**
 * Shard of each hash bucket from the work sampled in it: `ownShare` of the sampled work for
 * shard 0 (this thread), the rest evenly over the workers; buckets nothing was sampled in are
 * dealt so that each shard holds its share of the buckets (flows that start later). Counting
 * buckets alone missed by far on web-1m.pcap, where 8 keep-alive flows carry 73 % of the L7
 * rows: 0.19 of the buckets gave this thread 1.5 % of the rows (2026-11-26).
 */
export function weightedShardTable(count: number, ownShare: number, weights: Float64Array): Uint8Array {
  const t = new Uint8Array(BUCKETS);
  if (count === 1) return t;
  const shareOf = (s: number) => (s === 0 ? ownShare : (1 - ownShare) / (count - 1));
  let total = 0;
  for (const w of weights) total += w;
  const load = new Float64Array(count);
  const held = new Float64Array(count);
  const order = Array.from({ length: BUCKETS }, (_, b) => b).sort(
    (a, b) => weights[b]! - weights[a]! || a - b,
  );
  for (const b of order) {
    const w = weights[b]!;
    // The shard furthest below its share (largest first: the heavy buckets spread first).
    let best = -1;
    let bestGap = Number.NEGATIVE_INFINITY;
    for (let s = 0; s < count; s++) {
      const share = shareOf(s);
      if (share <= 0) continue;
      const gap = w > 0 ? share * total - load[s]! : share * BUCKETS - held[s]!;
      if (gap > bestGap) {
        best = s;
        bestGap = gap;
      }
    }
    t[b] = best;
    load[best]! += w;
    held[best]!++;
  }
  return t;
}

interface PcapHeader {
  le: boolean;
  nanos: boolean;
  linkType: number;
}

/** The classic pcap file header, or undefined (pcapng, too short): those are read as before. */
function pcapHeader(path: string): PcapHeader | undefined {
  const [b, n] = readHead(path, 24);
  return parsePcapHeader(b, n);
}

/** The first `size` bytes of a file (fewer if it is shorter) and how many were read. */
function readHead(path: string, size: number): [Buffer, number] {
  const b = Buffer.allocUnsafe(size);
  const fd = openSync(path, "r");
  try {
    return [b, readSync(fd, b, 0, size, 0)];
  } finally {
    closeSync(fd);
  }
}

/** A classic pcap file header in b[0, n): byte order, timestamp unit, link type; else undefined. */
function parsePcapHeader(b: Buffer, n: number): PcapHeader | undefined {
  if (n < 24) return undefined;
  const magic = b.readUInt32LE(0);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else return undefined;
  const nanos = le ? magic === 0xa1b23c4d : b.readUInt32BE(0) === 0xa1b23c4d;
  return { le, nanos, linkType: (le ? b.readUInt32LE(20) : b.readUInt32BE(20)) & 0x0fffffff };
}

/**
 * Reads a classic pcap file block by block into `blocks` (shared memory, `blockBytes` a block)
 * and hands each block's complete records to the pcap reader; a record cut by the block's end is
 * moved to the start of the next block. After a block, every lane's batch is published (its
 * records reference the block), and before a block is refilled this waits until every lane's
 * worker has consumed the batches published up to the block's last use.
 */
function readShared(
  path: string,
  h: PcapHeader,
  blocks: SharedArrayBuffer,
  blockBytes: number,
  lanes: Lane[],
  publish: (lane: Lane) => void,
  onPacket: PacketHandler,
  onError: ReadErrorHandler,
  setBase: (fileOffset: number) => void,
): void {
  const all = new Uint8Array(blocks);
  const count = blocks.byteLength / blockBytes;
  // need[b * lanes + i]: lane i's worker is done with block b once its tail reaches this head.
  const need = new Int32Array(count * lanes.length);
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    let fileOff = 24;
    let carry = 0;
    let carryFrom = 0;
    for (let k = 0; ; k++) {
      const blk = k % count;
      const base = blk * blockBytes;
      for (let i = 0; i < lanes.length; i++) {
        const lane = lanes[i]!;
        const want = need[blk * lanes.length + i]!;
        for (;;) {
          const tail = Atomics.load(lane.ctl, 1);
          if (tail >= want) break;
          Atomics.wait(lane.ctl, 1, tail, 100);
        }
      }
      if (carry > 0) all.copyWithin(base, carryFrom, carryFrom + carry);
      const blockFile = fileOff - carry;
      let n = carry;
      while (n < blockBytes && fileOff < size) {
        const r = readSync(fd, all, base + n, blockBytes - n, fileOff);
        if (r <= 0) break;
        n += r;
        fileOff += r;
      }
      const eof = fileOff >= size;
      setBase(blockFile);
      const got = readBlock(all.subarray(base, base + n), eof, h, onPacket, onError, blockFile);
      const take = got < 0 ? n : got;
      for (let i = 0; i < lanes.length; i++) {
        const lane = lanes[i]!;
        if (lane.fill > 0) publish(lane);
        need[blk * lanes.length + i] = lane.head;
      }
      if (eof || got < 0 || n === 0) break;
      carry = n - take;
      carryFrom = base + take;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * This thread's side of moved blocks (one worker): ids 0..count-1 each name one ArrayBuffer of
 * `bytes`, owned either here (free) or by the worker. A block is posted to the worker once its
 * batches are published; the worker posts it back when it has consumed them (see
 * dispatch-worker.ts) and counts the returns in `ctl[1]` so this thread can wait for one.
 */
class BlockMover {
  readonly ctl = new Int32Array(new SharedArrayBuffer(8));
  readonly workerPort: MessagePort;
  private readonly port: MessagePort;
  private readonly free: Uint8Array[] = [];
  private readonly ids: number[] = [];
  private made = 0;
  constructor(
    readonly bytes: number,
    readonly count: number,
  ) {
    const ch = new MessageChannel();
    this.port = ch.port1;
    this.workerPort = ch.port2;
  }

  /** A free block and its id: a new one while fewer than `count` exist, else one the worker returned. */
  take(lane: Lane): { id: number; buf: Uint8Array } {
    for (;;) {
      this.drain();
      const buf = this.free.pop();
      if (buf !== undefined) return { id: this.ids.pop()!, buf };
      // A failed worker sets its tail out of range: go on with new blocks, the run fails later.
      if (this.made < this.count || Atomics.load(lane.ctl, 1) >= 0x3fffffff) {
        return { id: this.made++ % this.count, buf: new Uint8Array(this.bytes) };
      }
      Atomics.wait(this.ctl, 1, Atomics.load(this.ctl, 1), 100);
    }
  }

  post(id: number, buf: Uint8Array): void {
    this.port.postMessage({ id, buf: buf.buffer }, [buf.buffer as ArrayBuffer]);
    Atomics.add(this.ctl, 0, 1);
    Atomics.notify(this.ctl, 0);
  }

  private drain(): void {
    for (;;) {
      const m = receiveMessageOnPort(this.port) as { message: { id: number; buf: ArrayBuffer } } | undefined;
      if (m === undefined) return;
      this.free.push(new Uint8Array(m.message.buf));
      this.ids.push(m.message.id);
    }
  }

  close(): void {
    this.port.close();
  }
}

/**
 * `readShared` with moved blocks: each block is read into a free ArrayBuffer, its packets
 * decoded and dispatched, its batches published and the block posted to the worker; a record
 * cut by the block's end goes to the next block through a small carry buffer (the block may
 * be in the worker by then).
 */
function readMoved(
  path: string,
  h: PcapHeader,
  mover: BlockMover,
  lane: Lane,
  publish: (lane: Lane) => void,
  onPacket: PacketHandler,
  onError: ReadErrorHandler,
  setBase: (fileOffset: number, blockAt: number) => void,
): void {
  const blockBytes = mover.bytes;
  const carryBuf = new Uint8Array(16 + MAX_PACKET);
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    let fileOff = 24;
    let carry = 0;
    for (;;) {
      const { id, buf } = mover.take(lane);
      if (carry > 0) buf.set(carryBuf.subarray(0, carry), 0);
      const blockFile = fileOff - carry;
      let n = carry;
      while (n < blockBytes && fileOff < size) {
        const r = readSync(fd, buf, n, blockBytes - n, fileOff);
        if (r <= 0) break;
        n += r;
        fileOff += r;
      }
      const eof = fileOff >= size;
      setBase(blockFile, id * blockBytes);
      const got = readBlock(buf.subarray(0, n), eof, h, onPacket, onError, blockFile);
      const take = got < 0 ? n : got;
      if (lane.fill > 0) publish(lane);
      carry = n - take;
      if (carry > 0) carryBuf.set(buf.subarray(take, n), 0);
      mover.post(id, buf);
      if (eof || got < 0 || n === 0) break;
    }
  } finally {
    closeSync(fd);
    mover.close();
  }
}

/**
 * Reads the complete records of one block (`b`, from file offset `blockFile`) and returns the
 * bytes taken: short of `b.length` by the record its end cuts, which goes to the next block.
 * At the end of the file all of it, and at a record longer than any packet all of it and -1 (the
 * caller stops): the reader reports a cut or bogus record as it would.
 */
function readBlock(
  b: Uint8Array,
  eof: boolean,
  h: PcapHeader,
  onPacket: PacketHandler,
  onError: ReadErrorHandler,
  blockFile: number,
): number {
  const src = ChunkedSource.fromBuffer(b);
  readCompleteRecords(src, h.le, h.nanos, h.linkType, onPacket);
  const at = src.pos;
  const n = b.length;
  if (at === n) return n;
  const p = at + 8;
  const bogus =
    n - at >= 16 &&
    (h.le
      ? b[p]! + (b[p + 1]! << 8) + (b[p + 2]! << 16) + b[p + 3]! * 16777216
      : b[p + 3]! + (b[p + 2]! << 8) + (b[p + 1]! << 16) + b[p]! * 16777216) > MAX_PACKET;
  if (!eof && !bogus) return at;
  readPcapRecords(src, h.le, h.nanos, h.linkType, onPacket, (kind, offset) =>
    onError(kind, offset + blockFile),
  );
  return bogus ? -1 : n;
}
