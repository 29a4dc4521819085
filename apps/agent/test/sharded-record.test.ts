/**
 * The decode-once pipeline's contract: a record carries every field the flow engine reads
 * (variable length: IPv6 words, tunnel and fragment blocks only when present), and however the
 * hash buckets are split between the dispatching thread's own shard and the workers, the rows
 * are one thread's.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { afterAll, describe, expect, it } from "vitest";
import { analyzeFile } from "../src/analyze.ts";
import { readCaptureFile } from "../src/capture/capture-file.ts";
import { decodeFrame } from "../src/decode/packet.ts";
import { DecodeError, PacketMeta } from "../src/decode/packet-meta.ts";
import { analyzeFileDispatched, ownShare, weightedShardTable } from "../src/flow/dispatch-analyze.ts";
import type { L4FlowRow, NetworkMetricsRow } from "../src/flow/flow-engine.ts";
import { REC_MAX, readRecord, recordWords, writeRecord } from "../src/flow/meta-record.ts";
import { pcapFile } from "../src/testing/pcap-header.ts";
import * as F from "./helpers/frames.ts";

const ALWAYS = [
  "ipVersion",
  "src0",
  "src1",
  "src2",
  "src3",
  "dst0",
  "dst1",
  "dst2",
  "dst3",
  "proto",
  "srcPort",
  "dstPort",
  "fragment",
  "laterFragment",
  "payloadLen",
  "tcpFlags",
  "seq",
  "ack",
  "window",
  "icmpType",
  "vlan",
  "tunnelType",
  "tunnelId",
  "outerVersion",
  "outerSrc0",
  "outerSrc1",
  "outerSrc2",
  "outerSrc3",
  "outerDst0",
  "outerDst1",
  "outerDst2",
  "outerDst3",
] as const;
const FRAGMENT = ["fragSrc", "fragDst", "fragId", "fragProto", "ipId"] as const;

const C = "10.0.0.1";
const S = "10.0.0.2";
const eth4 = (proto: number, src: string, dst: string, payload: Uint8Array | number[], o: F.Ipv4Opts = {}) =>
  F.eth(0x0800, F.ipv4(proto, src, dst, payload, o));

/** Frames of every record shape: IPv4/IPv6, tunnels, first and later fragments, ICMP, VLAN. */
function shapes(): Uint8Array[] {
  const inner = F.eth(0x0800, F.ipv4(6, "192.168.1.1", "192.168.1.2", F.tcp(40000, 80, [1, 2, 3])));
  const inner6 = F.eth(0x86dd, F.ipv6(17, "2001:db8::1", "2001:db8::2", F.udp(5353, 53, [9, 9])));
  return [
    eth4(17, "172.16.0.1", "172.16.0.2", F.udp(5000, 4789, F.vxlan(321, inner))),
    eth4(6, C, S, F.tcp(1234, 80, [], { flags: 0x02, seq: 0x80000001, window: 0 })),
    F.eth(0x86dd, F.ipv6(6, "2001:db8::a", "2001:db8::b", F.tcp(443, 50000, [7], { ack: 0xfffffff0 }))),
    eth4(17, C, S, F.udp(5000, 53, new Array(16).fill(0)), { id: 9, mf: true, totalLength: 20 + 24 }),
    eth4(17, C, S, new Array(8).fill(0), { id: 9, fragOffset: 24 }),
    F.eth(
      0x86dd,
      F.ipv6(17, "::1", "::2", F.udp(1, 2, [0, 0, 0, 0]), [[44, F.fragHeader(0, true, 0x9abcdef0)]]),
    ),
    F.eth(0x86dd, F.ipv6(17, "::1", "::2", new Array(8).fill(0), [[44, F.fragHeader(8, false, 0x9abcdef0)]])),
    eth4(1, C, S, F.icmpEcho(0)),
    F.eth(0x0800, F.ipv4(6, C, S, F.tcp(80, 1234, [1])), [{ tpid: 0x8100, id: 4095 }]),
    eth4(17, "172.16.0.1", "172.16.0.2", F.udp(5000, 4789, F.vxlan(0xffffff, inner6))),
    eth4(6, C, S, F.tcp(65535, 1, [], { flags: 0xff })),
  ];
}

describe("meta records", () => {
  it("round-trip every field the engine reads, reusing one PacketMeta as a worker does", () => {
    const frames: [number, Uint8Array][] = shapes().map((b) => [1, b]);
    const dir = sharedPcapsDir();
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".pcap"))) {
      readCaptureFile(
        join(dir, f),
        (lt, buf, off, cap) => {
          frames.push([lt, buf.slice(off, off + cap)]);
        },
        () => {},
      );
    }
    // Shapes again at the end: after IPv6, tunnels and fragments the reused record must be cleared.
    for (const b of shapes().reverse()) frames.push([1, b]);
    const m = new PacketMeta();
    const out = new PacketMeta();
    const w = new Int32Array(REC_MAX + 8);
    const f = new Float64Array(w.buffer);
    let checked = 0;
    for (const [i, [lt, b]] of frames.entries()) {
      if (decodeFrame(m, lt, b, 0, b.length) !== DecodeError.ok) continue;
      const extra = i % 2 === 0 ? 0 : 2;
      const o = 2 * (i % 4);
      const n = writeRecord(m, w, f, o, b.length + 3, 1.7e15 + i, extra);
      expect(n % 2).toBe(0);
      expect(n).toBeLessThanOrEqual(REC_MAX);
      expect(recordWords(w[o] as number, extra)).toBe(n);
      expect(readRecord(out, w, o, extra)).toBe(b.length + 3);
      expect(f[(o + 10) >> 1]).toBe(1.7e15 + i);
      for (const k of ALWAYS) expect([i, k, out[k]]).toEqual([i, k, m[k]]);
      for (const k of FRAGMENT) expect([i, k, out[k]]).toEqual([i, k, m.fragment ? m[k] : 0]);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

const tmp = mkdtempSync(join(tmpdir(), "flowplane-sharded-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A little-endian pcap (Ethernet) of `frames` at their times (µs). */
function writePcap(path: string, frames: [number, Uint8Array][]): void {
  writeFileSync(path, pcapFile(frames));
}

/** 60 flows over 4 s: TCP handshakes and data, fragmented UDP, IPv6, VXLAN, ICMP. */
function mixedCapture(): string {
  const frames: [number, Uint8Array][] = [];
  let t = 1_700_000_000_000_000;
  for (let round = 0; round < 8; round++) {
    for (let k = 0; k < 60; k++) {
      t += 8_000;
      const cli = `10.1.${k >> 4}.${k + 1}`;
      const port = 30000 + k;
      const kind = k % 5;
      if (kind === 0) {
        const flags = round === 0 ? 0x02 : round === 7 ? 0x11 : 0x18;
        frames.push([t, eth4(6, cli, S, F.tcp(port, 6379, [1, 2, 3], { flags, seq: 1000 + round * 3 }))]);
        frames.push([t + 50, eth4(6, S, cli, F.tcp(6379, port, [4], { flags: round === 0 ? 0x12 : 0x18 }))]);
      } else if (kind === 1) {
        const id = 100 + round * 60 + k;
        frames.push([
          t,
          eth4(17, cli, S, F.udp(port, 53, new Array(16).fill(k)), { id, mf: true, totalLength: 44 }),
        ]);
        frames.push([t + 10, eth4(17, cli, S, new Array(8).fill(0), { id, fragOffset: 24 })]);
      } else if (kind === 2) {
        const tcp = F.tcp(port, 443, [round], { flags: round === 0 ? 0x02 : 0x18 });
        frames.push([t, F.eth(0x86dd, F.ipv6(6, `2001:db8::${k + 1}`, "2001:db8::ffff", tcp))]);
      } else if (kind === 3) {
        const inner = F.eth(0x0800, F.ipv4(17, `192.168.0.${k}`, "192.168.9.9", F.udp(port, 8125, [k])));
        frames.push([t, eth4(17, "172.16.0.1", "172.16.0.2", F.udp(5000 + k, 4789, F.vxlan(k, inner)))]);
      } else frames.push([t, eth4(1, cli, S, F.icmpEcho(8))]);
    }
    t += 400_000;
  }
  const path = join(tmp, "mixed.pcap");
  writePcap(path, frames);
  return path;
}

async function rows(run: (o: Parameters<typeof analyzeFile>[1]) => ReturnType<typeof analyzeFile>) {
  const l4: L4FlowRow[] = [];
  const nm: NetworkMetricsRow[] = [];
  const r = await run({
    maxFlows: 4096,
    reportIntervalS: 2,
    onL4: (x) => l4.push(x),
    onNetworkMetrics: (x) => nm.push(x),
  });
  return {
    r,
    ids: new Set(l4.map((x) => x.flow_id)).size,
    flows: l4.map(({ flow_id: _id, ...rest }) => JSON.stringify(rest)).sort(),
    metrics: nm.map((x) => JSON.stringify(x)).sort(),
  };
}

describe("decode-once shard split", () => {
  it("this thread's share: all of it alone, none L4-only, some with L7 on 2 shards", () => {
    expect(ownShare(1, false)).toBe(1);
    expect(ownShare(2, false)).toBe(0);
    expect(ownShare(4, false)).toBe(0);
    expect(ownShare(2, true)).toBeGreaterThan(0.2);
    expect(ownShare(2, true)).toBeLessThan(0.5);
  });

  it("split by sampled work: each shard near its share of it, unsampled buckets by count", () => {
    const weights = new Float64Array(256);
    // 8 heavy buckets (keep-alive flows), 40 light ones, the rest not seen in the sample.
    for (let b = 0; b < 8; b++) weights[b * 31] = 100;
    for (let b = 0; b < 40; b++) weights[(b * 7 + 3) % 256] ||= 5;
    let total = 0;
    for (const w of weights) total += w;
    for (const [count, share] of [
      [2, 0.2],
      [2, 0.5],
      [3, 0.3],
    ] as const) {
      const t = weightedShardTable(count, share, weights);
      const load = new Float64Array(count);
      const unsampled = new Float64Array(count);
      for (let b = 0; b < 256; b++) {
        load[t[b]!]! += weights[b]!;
        if (weights[b] === 0) unsampled[t[b]!]!++;
      }
      for (let s = 0; s < count; s++) {
        const want = s === 0 ? share : (1 - share) / (count - 1);
        expect(Math.abs(load[s]! / total - want)).toBeLessThan(0.05);
        expect(unsampled[s]).toBeGreaterThan(0);
      }
    }
    expect(weightedShardTable(2, 0, weights).every((s) => s === 1)).toBe(true);
    expect(weightedShardTable(3, 1, weights).every((s) => s === 0)).toBe(true);
  });

  it.each([
    [2, 0],
    [2, 0.5],
    [3, 0.3],
    [3, 1],
  ])("%i shards, own share %f: the rows of one thread", async (count, share) => {
    const file = mixedCapture();
    const one = await rows((o) => analyzeFile(file, { ...o, workers: 1 }));
    expect(one.flows.length).toBeGreaterThan(60);
    const many = await rows((o) =>
      analyzeFileDispatched(file, { ...o, workers: count }, { ownShare: share }),
    );
    expect(many.r.workers).toBe(count);
    expect(many.flows).toEqual(one.flows);
    expect(many.metrics).toEqual(one.metrics);
    expect(many.ids).toBe(one.ids);
    expect(many.r.stats.packets).toBe(one.r.stats.packets);
    expect(many.r.stats.flowPackets).toBe(one.r.stats.flowPackets);
  });
});

/**
 * A pcap of the records of `files` (shared captures, same link type) one after the other, each
 * file's packets shifted past the previous file's last timestamp, plus `tail` bytes of a record
 * cut by the end of the file.
 */
function joinedCapture(files: string[], tail: number): string {
  const dir = sharedPcapsDir();
  const parts: Buffer[] = [];
  let header: Buffer | undefined;
  let last = 0;
  for (const f of files) {
    const b = readFileSync(join(dir, f));
    header ??= b.subarray(0, 24);
    let shift = 0;
    for (let o = 24, first = true; o + 16 <= b.length; ) {
      const cap = b.readUInt32LE(o + 8);
      const rec = Buffer.from(b.subarray(o, o + 16 + cap));
      const sec = rec.readUInt32LE(0);
      if (first) shift = Math.max(0, last + 1 - sec);
      first = false;
      rec.writeUInt32LE(sec + shift, 0);
      last = sec + shift;
      parts.push(rec);
      o += 16 + cap;
    }
  }
  const cut = Buffer.from(parts[parts.length - 1]!.subarray(0, tail));
  const file = join(tmp, `joined-${tail}.pcap`);
  writeFileSync(file, Buffer.concat([header!, ...parts, cut]));
  return file;
}

describe("shared reading (L7 on, pcap read in blocks the workers' records point into)", () => {
  it.each([
    ["small blocks reused", { blockBytes: 16 + 256 * 1024, blocks: 2 }],
    [
      "small blocks reused, shared with one worker",
      { blockBytes: 16 + 256 * 1024, blocks: 2, sharedBlocks: true },
    ],
    ["default blocks", {}],
    ["default blocks, default share (head sampled)", { ownShare: undefined }],
    ["split by bucket count", { countBuckets: true }],
    ["payloads copied", { copyPayloads: true }],
  ])("%s: L4 and L7 rows and read errors of one thread", async (_name, tuning) => {
    const file = joinedCapture(
      ["redis-commands.pcap", "erspan-vlan-http-tls.pcap", "http1-pipelined.pcap", "redis-commands.pcap"],
      40,
    );
    const run = async (workers: number) => {
      const l4: string[] = [];
      const l7: string[] = [];
      const o = {
        startSeconds: 1,
        maxFlows: 4096,
        l7: {},
        onL4: (x: L4FlowRow) => l4.push(JSON.stringify({ ...x, flow_id: "" })),
        onL7: (x: { flow_id: string }) => l7.push(JSON.stringify({ ...x, flow_id: "" })),
      };
      const r =
        workers === 1
          ? await analyzeFile(file, { ...o, workers: 1 })
          : await analyzeFileDispatched(file, { ...o, workers }, { ownShare: 0.3, ...tuning });
      return { r, l4: l4.sort(), l7: l7.sort() };
    };
    const one = await run(1);
    expect(one.l7.length).toBeGreaterThan(40);
    expect(one.r.stats.decodeErrors).toBe(1);
    for (const workers of [2, 3]) {
      const many = await run(workers);
      expect(many.l4).toEqual(one.l4);
      expect(many.l7).toEqual(one.l7);
      expect(many.r.stats.packets).toBe(one.r.stats.packets);
      expect(many.r.stats.decodeErrorsByKind).toEqual(one.r.stats.decodeErrorsByKind);
      expect(many.r.stats.firstErrorOffsets).toEqual(one.r.stats.firstErrorOffsets);
    }
  });
});

describe("shared reading: a record claiming more than any packet", () => {
  it.each([
    ["small blocks reused", { blockBytes: 16 + 256 * 1024, blocks: 2 }],
    ["small blocks, shared with one worker", { blockBytes: 16 + 256 * 1024, blocks: 2, sharedBlocks: true }],
    ["default blocks", {}],
  ])("%s: the packets before it and its error, as one thread", async (_name, tuning) => {
    const joined = readFileSync(
      joinedCapture(["redis-commands.pcap", "erspan-vlan-http-tls.pcap", "http1-pipelined.pcap"], 0),
    );
    // A bogus length, then records the reader must not reach (past a 256 KiB block's end, so
    // the block with the bogus length is not the file's last).
    const bogus = Buffer.alloc(16);
    bogus.writeUInt32LE(0x7fffffff, 8);
    const file = join(tmp, "bogus.pcap");
    writeFileSync(file, Buffer.concat([joined, bogus, joined.subarray(24)]));
    const run = async (workers: number) => {
      const l7: string[] = [];
      const o = {
        startSeconds: 1,
        maxFlows: 4096,
        l7: {},
        onL4: () => {},
        onL7: (x: { flow_id: string }) => l7.push(JSON.stringify({ ...x, flow_id: "" })),
      };
      const r =
        workers === 1
          ? await analyzeFile(file, { ...o, workers: 1 })
          : await analyzeFileDispatched(file, { ...o, workers }, tuning);
      return { r, l7: l7.sort() };
    };
    const one = await run(1);
    expect(one.r.stats.decodeErrorsByKind).toEqual({ bogus_record_length: 1 });
    for (const workers of [2, 3]) {
      const many = await run(workers);
      expect(many.l7).toEqual(one.l7);
      expect(many.r.stats.packets).toBe(one.r.stats.packets);
      expect(many.r.stats.decodeErrorsByKind).toEqual(one.r.stats.decodeErrorsByKind);
      expect(many.r.stats.firstErrorOffsets).toEqual(one.r.stats.firstErrorOffsets);
    }
  });
});
