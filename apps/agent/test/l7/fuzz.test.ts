/**
 * Bad input: real flows of every protocol (segments taken from the shared and recorded
 * captures), then mutated, split, truncated, dropped, reordered, duplicated and interleaved
 * with other protocols' bytes, plus pure noise on each protocol's port. Properties: no parser
 * ever throws (the processor's safety net stays unused), buffered/held bytes and pending
 * requests stay within the configured bounds, and rows stay within their field caps.
 */
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readCaptureFile } from "../../src/capture/capture-file.ts";
import { decodeFrame } from "../../src/decode/packet.ts";
import { PacketMeta } from "../../src/decode/packet-meta.ts";
import { createL7Processor } from "../../src/l7/index.ts";
import type { L7Row } from "../../src/l7/types.ts";
import { capturesDir } from "../captures/index.ts";

interface Seg {
  dir: 0 | 1;
  data: Uint8Array;
}
interface Flow {
  name: string;
  port: number;
  udp: boolean;
  segs: Seg[];
}

const FILES = [
  ...[
    "http1-pipelined.pcap",
    "h2c-grpc-session.pcap",
    "h2c-multi-stream.pcap",
    "tls12-handshake.pcap",
    "dns-udp.pcap",
    "dns-nxdomain-tcp.pcap",
    "mysql-login-query.pcap",
    "pgsql-create-insert-select.pcap",
    "redis-50-pings.pcap",
    "kafka-metadata-produce-sll.pcap",
    "kafka-offsetcommit-heartbeat.pcap",
    "mqtt-pub-roundtrip.pcap",
    "dubbo-kryo.pcap",
    "dubbo-hessian2.pcap",
  ].map((f) => join(sharedPcapsDir(), f)),
  join(capturesDir, "nats-bash.pcap"),
  join(capturesDir, "redis-cli.pcap"),
  join(import.meta.dirname, "captures", "amqp-rabbitmq.pcap"),
];

/** Payload segments per flow (direction by the lower port = server), capped in size. */
function corpus(): Flow[] {
  const flows = new Map<string, Flow>();
  const m = new PacketMeta();
  for (const file of FILES) {
    readCaptureFile(
      file,
      (lt, b, off, cap) => {
        if (decodeFrame(m, lt, b, off, cap) !== 0 || m.payloadLen <= 0 || (m.proto !== 6 && m.proto !== 17))
          return;
        const lo = Math.min(m.srcPort, m.dstPort);
        const k = `${file}|${lo}|${Math.max(m.srcPort, m.dstPort)}`;
        let f = flows.get(k);
        if (!f) {
          f = { name: file.split("/").pop()!, port: lo, udp: m.proto === 17, segs: [] };
          flows.set(k, f);
        }
        const n = Math.min(m.payloadLen, off + cap - m.payloadOffset, 4096);
        if (f.segs.length < 60 && n > 0)
          f.segs.push({
            dir: m.srcPort === lo ? 1 : 0,
            data: Uint8Array.prototype.slice.call(b, m.payloadOffset, m.payloadOffset + n),
          });
      },
      () => {},
    );
  }
  return [...flows.values()].filter((f) => f.segs.length > 0);
}

const FLOWS = corpus();
const MAX_BUF = 8 * 1024;
const MAX_PENDING = 16;

function run(feeds: { slot: number; flow: Flow; dir: 0 | 1; data: Uint8Array; seq: number }[]) {
  const rows: L7Row[] = [];
  const l7 = createL7Processor({
    onL7: (r) => rows.push(r),
    describeFlow: (slot) => {
      const f = feeds.find((x) => x.slot === slot)!.flow;
      return {
        flowId: String(slot),
        clientIp: "10.0.0.1",
        clientPort: 50000,
        serverIp: "10.0.0.2",
        serverPort: f.port,
        ipProtocol: f.udp ? 17 : 6,
      };
    },
    maxBufferPerDir: MAX_BUF,
    maxPendingPerFlow: MAX_PENDING,
  });
  let ts = 1_700_000_000_000_000;
  let peak = { buf: 0, held: 0, pending: 0 };
  for (const x of feeds) {
    ts += 500;
    l7.onPayload(x.slot, x.dir, x.data, 0, x.data.length, x.data.length, x.flow.udp ? 0 : x.seq, ts);
    const fp = l7.footprint();
    peak = {
      buf: Math.max(peak.buf, fp.bufferedBytes),
      held: Math.max(peak.held, fp.heldBytes),
      pending: Math.max(peak.pending, fp.maxPendingPerFlow),
    };
  }
  l7.tick(ts + 60_000_000);
  l7.flush(ts + 60_000_000);
  return { stats: l7.stats(), rows, peak, fp: l7.footprint() };
}

function check(r: ReturnType<typeof run>, flows: number) {
  expect(r.stats.parserExceptions).toBe(0);
  // Two directions per flow, each buffer ≤ MAX_BUF and held bytes ≤ MAX_BUF.
  expect(r.peak.buf).toBeLessThanOrEqual(2 * flows * MAX_BUF);
  expect(r.peak.held).toBeLessThanOrEqual(2 * flows * MAX_BUF);
  expect(r.peak.pending).toBeLessThanOrEqual(MAX_PENDING);
  expect(r.fp.flows).toBe(0);
  for (const row of r.rows) {
    expect(row.request_resource.length).toBeLessThanOrEqual(1100);
    expect(row.request_domain.length).toBeLessThanOrEqual(600);
    expect(row.response_exception.length).toBeLessThanOrEqual(600);
    expect(Number.isFinite(row.response_duration_us) && row.response_duration_us >= 0).toBe(true);
  }
}

/** Applies random damage to a flow's segments, keeping sequence numbers of the original stream. */
const damaged = (flow: Flow) =>
  fc
    .array(
      fc.record({
        op: fc.constantFrom("keep", "keep", "keep", "flip", "cut", "drop", "dup", "swap", "noise"),
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
        noise: fc.uint8Array({ maxLength: 64 }),
      }),
      { minLength: flow.segs.length, maxLength: flow.segs.length },
    )
    .map((ops) => {
      const seq = [1000, 500_000];
      const out: { dir: 0 | 1; data: Uint8Array; seq: number }[] = [];
      flow.segs.forEach((s, i) => {
        const o = ops[i]!;
        const at = s.data.length ? o.at % s.data.length : 0;
        const start = seq[s.dir]!;
        seq[s.dir] = (start + s.data.length) | 0;
        let data = s.data;
        switch (o.op) {
          case "flip":
            data = Uint8Array.from(data);
            data[at] = o.byte;
            break;
          case "cut":
            out.push({ dir: s.dir, data: data.subarray(0, at), seq: start });
            data = data.subarray(at);
            out.push({ dir: s.dir, data, seq: start + at });
            return;
          case "drop":
            return;
          case "dup":
            out.push({ dir: s.dir, data, seq: start });
            break;
          case "noise":
            data = o.noise;
            break;
        }
        out.push({ dir: s.dir, data, seq: start });
        if (o.op === "swap" && out.length >= 2) {
          const a = out.length - 1;
          [out[a], out[a - 1]] = [out[a - 1]!, out[a]!];
        }
      });
      return out.filter((x) => x.data.length > 0);
    });

describe("fuzz: parsers never throw and stay bounded", () => {
  it("has a corpus with every protocol", () => {
    const names = new Set(FLOWS.map((f) => f.name.split(/[-.]/)[0]));
    for (const p of [
      "http1",
      "h2c",
      "tls12",
      "dns",
      "mysql",
      "pgsql",
      "redis",
      "kafka",
      "mqtt",
      "dubbo",
      "nats",
      "amqp",
    ])
      expect(names).toContain(p);
  });

  for (const flow of FLOWS.filter((f, i) => FLOWS.findIndex((g) => g.name === f.name) === i)) {
    it(`damaged ${flow.name}`, () => {
      fc.assert(
        fc.property(damaged(flow), (segs) => {
          check(run(segs.map((s) => ({ slot: 1, flow, ...s }))), 1);
        }),
        { numRuns: 60, seed: 4242 },
      );
    });
  }

  it("interleaves two protocols' bytes on one flow and several flows at once", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(FLOWS.length - 1), fc.nat(), fc.nat(3)), { minLength: 1, maxLength: 80 }),
        (picks) => {
          const seq = new Map<string, number>();
          const feeds = picks.map(([fi, si, slot]) => {
            const flow = FLOWS[fi]!;
            const s = flow.segs[si % flow.segs.length]!;
            const k = `${slot}/${s.dir}`;
            const q = seq.get(k) ?? 1000;
            seq.set(k, q + s.data.length);
            return { slot, flow: FLOWS[slot % FLOWS.length]!, dir: s.dir, data: s.data, seq: q };
          });
          check(run(feeds), 4);
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });

  it("pure noise on each protocol's port, TCP and UDP", () => {
    fc.assert(
      fc.property(
        fc.nat(FLOWS.length - 1),
        fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(1)), { maxLength: 30 }),
        (fi, segs) => {
          const flow = FLOWS[fi]!;
          let q = 1;
          const feeds = segs.map(([data, dir]) => {
            const s = q;
            q += data.length;
            return { slot: 0, flow, dir: dir as 0 | 1, data, seq: s };
          });
          if (feeds.length) check(run(feeds), 1);
        },
      ),
      { numRuns: 300, seed: 99 },
    );
  });
});
