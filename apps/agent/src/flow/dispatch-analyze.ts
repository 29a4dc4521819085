/**
 * Decode-once multi-worker analysis. This thread reads the capture and decodes every packet
 * once, picks the shard by the symmetric 5-tuple hash (later IP fragments follow the shard of
 * their first fragment), and appends a fixed-size record (meta-record.ts) to that shard's
 * ring of batches in shared memory; each worker runs a flow engine over its records. Rings are
 * bounded (Atomics.wait when a worker falls behind), so memory stays flat.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { AnalyzeOptions, AnalyzeResult } from "../analyze.ts";
import { readCaptureFile } from "../capture/capture-file.ts";
import { decodeFrame } from "../decode/packet.ts";
import { DECODE_ERROR_NAMES, DecodeError, PacketMeta } from "../decode/packet-meta.ts";
import type { EngineStats } from "./flow-engine.ts";
import { flowHash } from "./flow-table.ts";
import { REC, writeRecord } from "./meta-record.ts";
import { ShardRows, type ShardRowsMsg } from "./shard-rows.ts";
import { workerBundle } from "./worker-bundle.ts";

// 32 × 4096 records (20 MiB a lane): the dispatcher runs ~130 k packets ahead while a worker
// starts (≈60-100 ms) instead of stalling after 32 k (8 slots: 160-390 ms of waits per run).
const SLOTS = 32;
const BATCH = 4096;
/** Payload bytes per batch slot when L7 is on: a batch is published early when they run out. */
const PAYLOAD_BYTES = 1 << 20;
const FRAG_SLOTS = 4096;

type Msg = ShardRowsMsg | { type: "done"; stats: EngineStats };

interface Lane {
  ctl: Int32Array;
  words: Int32Array;
  times: Float64Array;
  payload: Uint8Array | null;
  head: number;
  fill: number;
  pfill: number;
}

export async function analyzeFileDispatched(path: string, opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const started = performance.now();
  const count = Math.max(1, Math.min(32, opts.workers ?? 2));
  const startSeconds = opts.startSeconds ?? Math.floor(Date.now() / 1000);
  const wantRows = opts.onL4 !== undefined;
  if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
  const script = await workerBundle(new URL("./dispatch-worker.ts", import.meta.url));
  const l7Bundle = opts.l7 ? await workerBundle(new URL("../l7/index.ts", import.meta.url)) : undefined;
  const slotWords = BATCH * REC + 2;
  const lanes: Lane[] = [];
  const shardRows = new ShardRows(opts);
  const l7On = opts.l7 !== undefined;
  const wantL7Rows = opts.onL7 !== undefined;
  const stats: EngineStats[] = [];
  const exits: Promise<void>[] = [];
  for (let index = 0; index < count; index++) {
    const control = new SharedArrayBuffer(4 * (3 + SLOTS));
    const ring = new SharedArrayBuffer(4 * slotWords * SLOTS);
    const payloadRing = l7On ? new SharedArrayBuffer(PAYLOAD_BYTES * SLOTS) : undefined;
    lanes.push({
      ctl: new Int32Array(control),
      words: new Int32Array(ring),
      times: new Float64Array(ring),
      payload: payloadRing ? new Uint8Array(payloadRing) : null,
      head: 0,
      fill: 0,
      pfill: 0,
    });
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
    const w = new Worker(script, {
      workerData: {
        index,
        slots: SLOTS,
        batch: BATCH,
        control,
        ring,
        payloadRing,
        payloadBytes: PAYLOAD_BYTES,
        l4File: opts.outDir ? join(opts.outDir, `l4_flow_log.jsonl.part${index}`) : undefined,
        l7File: opts.outDir && l7On ? join(opts.outDir, `l7_flow_log.jsonl.part${index}`) : undefined,
        wantL7Rows,
        l7Bundle,
        wantRows,
        engine,
      },
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

  const publish = (lane: Lane) => {
    const slot = lane.head % SLOTS;
    Atomics.store(lane.ctl, 3 + slot, lane.fill);
    lane.head++;
    Atomics.store(lane.ctl, 0, lane.head);
    Atomics.notify(lane.ctl, 0);
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
  const m = new PacketMeta();
  if (opts.vxlanPort !== undefined) m.vxlanPort = opts.vxlanPort;
  if (opts.genevePort !== undefined) m.genevePort = opts.genevePort;
  const fragKey = new Int32Array(FRAG_SLOTS * 4);
  const fragShard = new Int32Array(FRAG_SLOTS).fill(-1);
  let now = 0;
  let nextSecond = 0;
  const progress = opts.onProgress;
  let sinceProgress = 0;
  readCaptureFile(
    path,
    (lt, buf, off, cap, wire, ts, fo) => {
      own.packets++;
      own.bytes += wire;
      if (own.firstTs === 0) own.firstTs = ts;
      if (ts > now) {
        now = ts;
        if (now >= nextSecond) {
          nextSecond = Math.floor(now / 1e6) * 1e6 + 1e6;
          for (const lane of lanes) {
            const o = (lane.head % SLOTS) * slotWords + lane.fill * REC;
            lane.words[o] = 0;
            lane.times[(o + 38) >> 1] = now;
            if (++lane.fill === BATCH) publish(lane);
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
      let shard = (flowHash(m) >>> 0) % count;
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
      const lane = lanes[shard] as Lane;
      let plen = 0;
      if (
        lane.payload !== null &&
        m.payloadLen > 0 &&
        m.laterFragment === 0 &&
        (m.proto === 6 || m.proto === 17)
      ) {
        const end = off + cap;
        plen = Math.max(0, Math.min(m.payloadLen, end - m.payloadOffset, PAYLOAD_BYTES));
        if (lane.pfill + plen > PAYLOAD_BYTES) publish(lane);
      }
      const slot = lane.head % SLOTS;
      const o = slot * slotWords + lane.fill * REC;
      writeRecord(m, lane.words, lane.times, o, wire, now);
      if (lane.payload !== null) {
        if (plen > 0)
          lane.payload.set(
            buf.subarray(m.payloadOffset, m.payloadOffset + plen),
            slot * PAYLOAD_BYTES + lane.pfill,
          );
        lane.words[o + 32] = lane.pfill;
        lane.words[o + 33] = plen;
        lane.pfill += plen;
      }
      if (++lane.fill === BATCH) publish(lane);
    },
    countError,
  );
  for (const lane of lanes) {
    if (lane.fill > 0) publish(lane);
    Atomics.store(lane.ctl, 2, 1);
    Atomics.notify(lane.ctl, 0);
  }
  await Promise.all(exits);

  const { metricRows, appMetricRows } = shardRows.finish(count, l7On);
  let l4Rows = 0;
  const sum = (k: keyof EngineStats) => stats.reduce((s, x) => s + (x[k] as number), 0);
  l4Rows = sum("flowsReported");
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
      shardRows.l7RowsPosted ||
      stats.reduce((s, x) => s + ((x as EngineStats & { l7Rows?: number }).l7Rows ?? 0), 0),
    appMetricRows,
    elapsedMs,
    packetsPerSecond: own.packets / Math.max(elapsedMs / 1000, 1e-9),
    workers: count,
  };
}
