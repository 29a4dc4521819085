/**
 * L7 micro-benchmark: `node --import tsx apps/agent/src/l7/bench/l7-bench.ts [flows] [requests] [api|web]`.
 * On an HTTP-heavy capture (./http-pcap.ts) it measures, best of 3, CPU time:
 * - decode only: reader + frame decoder (the floor of any per-packet work);
 * - L4: the flow engine (`createEngine().packet`) as `analyze` runs it;
 * - L7: the processor alone, fed the same payload segments the engine would hand it
 *   (slot, direction, view, seq, time precomputed outside the timed loop);
 * and prints L4+L7 as the engine will run them (sum of per-packet costs), its ratio to L4-only
 * (issue 4: ≥ 0.70), and `tshark -q -z http,tree` on the same file for scale.
 * Prints one JSON line.
 */
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCaptureBuffer } from "../../capture/capture-file.ts";
import { decodeFrame } from "../../decode/packet.ts";
import { PacketMeta } from "../../decode/packet-meta.ts";
import { createEngine } from "../../flow/flow-engine.ts";
import { createL7Processor } from "../index.ts";
import { buildHttpPcap, type HttpProfile } from "./http-pcap.ts";

const flows = Number(process.argv[2] ?? 2000);
const requests = Number(process.argv[3] ?? 40);
const profile = (process.argv[4] ?? "api") as HttpProfile;
const { pcap, packets } = buildHttpPcap(flows, requests, profile);

const RUNS = Number(process.env.L7_BENCH_RUNS ?? 5);
/** CPU seconds of one run of fn. */
function cpuOnce(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

const m = new PacketMeta();
const decodeRun = () =>
  void readCaptureBuffer(
    pcap,
    (lt, b, o, c) => void decodeFrame(m, lt, b, o, c),
    () => {},
  );
const l4Run = () => {
  const e = createEngine({ maxFlows: 1_000_000 });
  readCaptureBuffer(
    pcap,
    (lt, b, o, c, w, ts, fo) => e.packet(lt, b, o, c, w, ts, fo),
    () => {},
  );
  e.flush();
};

// Segments as the engine would pass them (outside the timed loop).
const slotOf = new Map<string, number>();
const segSlot: number[] = [];
const segDir: number[] = [];
const segOff: number[] = [];
const segLen: number[] = [];
const segSeq: number[] = [];
const segTs: number[] = [];
readCaptureBuffer(
  pcap,
  (lt, b, o, c, _w, ts) => {
    if (decodeFrame(m, lt, b, o, c) !== 0 || m.payloadLen <= 0) return;
    const fromClient = m.dstPort === 8080;
    const k = fromClient ? `${m.src0}:${m.srcPort}` : `${m.dst0}:${m.dstPort}`;
    let s = slotOf.get(k);
    if (s === undefined) {
      s = slotOf.size;
      slotOf.set(k, s);
    }
    segSlot.push(s);
    segDir.push(fromClient ? 0 : 1);
    segOff.push(m.payloadOffset);
    segLen.push(m.payloadLen);
    segSeq.push(m.seq);
    segTs.push(ts);
  },
  () => {},
);
let rows = 0;
const l7Run = () => {
  rows = 0;
  const l7 = createL7Processor({
    onL7: () => rows++,
    describeFlow: (slot) => ({
      flowId: String(slot),
      clientIp: "10.0.0.1",
      clientPort: 20000 + slot,
      serverIp: "10.100.0.80",
      serverPort: 8080,
      ipProtocol: 6,
    }),
  });
  const n = segSlot.length;
  let lastTick = 0;
  for (let i = 0; i < n; i++) {
    const ts = segTs[i]!;
    if (ts - lastTick >= 1_000_000) {
      l7.tick(ts);
      lastTick = ts;
    }
    l7.onPayload(segSlot[i]!, segDir[i]!, pcap, segOff[i]!, segLen[i]!, segLen[i]!, segSeq[i]!, ts);
  }
  l7.flush(segTs[n - 1]!);
};
// Interleaved runs, best of each: on a shared machine the minimum is the least disturbed.
let decodeS = Number.POSITIVE_INFINITY;
let l4S = Number.POSITIVE_INFINITY;
let l7S = Number.POSITIVE_INFINITY;
for (let i = 0; i < RUNS; i++) {
  decodeS = Math.min(decodeS, cpuOnce(decodeRun));
  l4S = Math.min(l4S, cpuOnce(l4Run));
  l7S = Math.min(l7S, cpuOnce(l7Run));
}

if (process.env.L7_BENCH_ONLY) {
  console.log(
    JSON.stringify({
      l7NsPerPayloadSegment: Math.round((l7S * 1e9) / segSlot.length),
      l4Pps: Math.round(packets / l4S),
      l7VsL4Ratio: +(l4S / (l4S + l7S)).toFixed(3),
    }),
  );
  process.exit(0);
}
const path = join(tmpdir(), `flowplane-l7-bench-${process.pid}.pcap`);
writeFileSync(path, pcap);
const t0 = performance.now();
const ts = spawnSync("tshark", ["-n", "-q", "-r", path, "-z", "http,tree"], {
  encoding: "utf8",
  maxBuffer: 1 << 26,
});
const tsharkS = ts.status === 0 ? (performance.now() - t0) / 1000 : Number.NaN;
rmSync(path, { force: true });

const l4l7S = l4S + l7S;
console.log(
  JSON.stringify({
    profile,
    packets,
    payloadSegments: segSlot.length,
    l7Rows: rows,
    decodeOnlyPps: Math.round(packets / decodeS),
    l4Pps: Math.round(packets / l4S),
    l7OnlyPps: Math.round(packets / l7S),
    l4PlusL7Pps: Math.round(packets / l4l7S),
    l7VsL4Ratio: +(l4S / l4l7S).toFixed(3),
    l7NsPerPayloadSegment: Math.round((l7S * 1e9) / segSlot.length),
    tsharkHttpTreePps: Math.round(packets / tsharkS),
    l4PlusL7VsTshark: +(packets / l4l7S / (packets / tsharkS)).toFixed(1),
  }),
);
