/**
 * Scaling estimate of the decode-once pipeline that survives a busy machine: times, one after
 * the other in this thread, (a) the dispatcher's share (read, decode, hash, write records) and
 * (b) each shard's share (read records, flow engine), then prints the ideal wall time on 2 and
 * on N+1 cores relative to one thread. Usage: dispatch-split.ts <capture> [N] [repeats]
 */

import { analyzeFileSync } from "../analyze.ts";
import { readCaptureFile } from "../capture/capture-file.ts";
import { decodeFrame } from "../decode/packet.ts";
import { PacketMeta } from "../decode/packet-meta.ts";
import { createEngine } from "../flow/flow-engine.ts";
import { flowHash } from "../flow/flow-table.ts";
import { REC, readRecord, writeRecord } from "../flow/meta-record.ts";

const path = process.argv[2] as string;
const n = Number(process.argv[3] ?? 2);
const repeats = Number(process.argv[4] ?? 3);
const best = (f: () => number) => Math.min(...Array.from({ length: repeats }, f));

const single = best(
  () => analyzeFileSync(path, { maxFlows: 1_000_000, onL4: () => {}, onNetworkMetrics: () => {} }).elapsedMs,
);

// Records per shard, kept in memory (the real pipeline streams them through 8 × 4096 slots).
let total = 0;
readCaptureFile(
  path,
  () => total++,
  () => {},
);
const lanes = Array.from({ length: n }, () => ({ buf: new ArrayBuffer(total * REC * 4 + 16), fill: 0 }));
const views = lanes.map((l) => ({ w: new Int32Array(l.buf), f: new Float64Array(l.buf) }));
const m = new PacketMeta();
const dispatch = best(() => {
  for (const l of lanes) l.fill = 0;
  const t0 = performance.now();
  readCaptureFile(
    path,
    (lt, b, off, cap, wire, ts) => {
      if (decodeFrame(m, lt, b, off, cap) !== 0) return;
      const s = (flowHash(m) >>> 0) % n;
      const l = lanes[s] as (typeof lanes)[number];
      const v = views[s] as (typeof views)[number];
      writeRecord(m, v.w, v.f, l.fill * REC, wire, ts);
      l.fill++;
    },
    () => {},
  );
  return performance.now() - t0;
});
const shards = lanes.map((l, i) =>
  best(() => {
    const e = createEngine({ maxFlows: 1_000_000, onL4: () => {}, onNetworkMetrics: () => {} });
    const v = views[i] as (typeof views)[number];
    const t0 = performance.now();
    for (let k = 0; k < l.fill; k++) {
      const o = k * REC;
      const wire = readRecord(e.meta, v.w, o);
      e.decoded(wire, v.f[(o + 38) >> 1] as number);
    }
    e.flush();
    return performance.now() - t0;
  }),
);
const work = dispatch + shards.reduce((a, b) => a + b, 0);
const on2 = Math.max(dispatch, ...shards, work / 2);
const onMany = Math.max(dispatch, ...shards);
console.log(
  JSON.stringify({
    singleMs: Math.round(single),
    dispatchMs: Math.round(dispatch),
    shardMs: shards.map(Math.round),
    shardPackets: lanes.map((l) => l.fill),
    speedupOn2Cores: +(single / on2).toFixed(2),
    speedupOnNPlus1Cores: +(single / onMany).toFixed(2),
  }),
);
