/**
 * Scaling estimate of the decode-once pipeline that survives a busy machine: times, one after
 * the other in this thread, (a) the dispatcher's share (read, decode, hash, write records of
 * shards 1..N-1, run shard 0's engine) and (b) each worker shard's share (read records, flow
 * engine), then prints the ideal wall time on 2 and on N cores relative to one thread.
 * Usage: dispatch-split.ts <capture> [N] [repeats]
 */

import { analyzeFileSync } from "../analyze.ts";
import { readCaptureFile } from "../capture/capture-file.ts";
import { decodeFrame } from "../decode/packet.ts";
import { ownShare, shardTable } from "../flow/dispatch-analyze.ts";
import { createEngine } from "../flow/flow-engine.ts";
import { flowHash } from "../flow/flow-table.ts";
import { REC_MAX, REC_TS, readRecord, recordWords, writeRecord } from "../flow/meta-record.ts";

const path = process.argv[2] as string;
const n = Number(process.argv[3] ?? 2);
// The pipeline's own split (256 hash buckets, `ownShare` of them run by the dispatching thread).
const table = shardTable(n, ownShare(n, false));
const repeats = Number(process.argv[4] ?? 3);
const best = (f: () => number) => Math.min(...Array.from({ length: repeats }, f));

const single = best(
  () => analyzeFileSync(path, { maxFlows: 1_000_000, onL4: () => {}, onNetworkMetrics: () => {} }).elapsedMs,
);

// Records per shard, kept in memory (the real pipeline streams them through ring slots).
let total = 0;
readCaptureFile(
  path,
  () => total++,
  () => {},
);
const lanes = Array.from({ length: n }, () => ({
  buf: new ArrayBuffer(total * REC_MAX * 4 + 16),
  fill: 0,
  packets: 0,
}));
const views = lanes.map((l) => ({ w: new Int32Array(l.buf), f: new Float64Array(l.buf) }));
const dispatch = best(() => {
  for (const l of lanes) {
    l.fill = 0;
    l.packets = 0;
  }
  const own = createEngine({ maxFlows: 1_000_000, onL4: () => {}, onNetworkMetrics: () => {} });
  const m = own.meta;
  const t0 = performance.now();
  readCaptureFile(
    path,
    (lt, b, off, cap, wire, ts) => {
      if (decodeFrame(m, lt, b, off, cap) !== 0) return;
      const s = table[(flowHash(m) >>> 0) & 255] as number;
      const l = lanes[s] as (typeof lanes)[number];
      l.packets++;
      if (s === 0) return own.decoded(wire, ts);
      const v = views[s] as (typeof views)[number];
      l.fill += writeRecord(m, v.w, v.f, l.fill, wire, ts, 0);
    },
    () => {},
  );
  own.flush();
  return performance.now() - t0;
});
const shards = lanes.slice(1).map((l, i) =>
  best(() => {
    const e = createEngine({ maxFlows: 1_000_000, onL4: () => {}, onNetworkMetrics: () => {} });
    const v = views[i + 1] as (typeof views)[number];
    const t0 = performance.now();
    for (let o = 0; o < l.fill; o += recordWords(v.w[o] as number, 0)) {
      const wire = readRecord(e.meta, v.w, o, 0);
      e.decoded(wire, v.f[(o + REC_TS) >> 1] as number);
    }
    e.flush();
    return performance.now() - t0;
  }),
);
const work = dispatch + shards.reduce((a, b) => a + b, 0);
const on2 = Math.max(dispatch, ...shards, work / 2);
const onN = Math.max(dispatch, ...shards);
console.log(
  JSON.stringify({
    singleMs: Math.round(single),
    dispatchMs: Math.round(dispatch),
    shardMs: shards.map(Math.round),
    shardPackets: lanes.map((l) => l.packets),
    speedupOn2Cores: +(single / on2).toFixed(2),
    speedupOnNCores: +(single / onN).toFixed(2),
  }),
);
