import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { describe, expect, it } from "vitest";
import { readCaptureFile } from "../../src/capture/capture-file.ts";
import { decodeFrame } from "../../src/decode/packet.ts";
import { PacketMeta } from "../../src/decode/packet-meta.ts";
import { ipText } from "../../src/flow/ip-text.ts";
import { createPacketBroker, type Destination } from "../../src/npb/broker.ts";
import { Encapsulator } from "../../src/npb/encap.ts";
import { symmetricFlowHash } from "../../src/npb/flow-hash.ts";
import { decoded, policy, tcpFrame } from "./fixtures.ts";

interface Captured {
  linkType: number;
  data: Uint8Array;
  ts: number;
}
function loadPcap(name: string): Captured[] {
  const out: Captured[] = [];
  readCaptureFile(
    join(sharedPcapsDir(), name),
    (linkType, buf, off, capLen, _w, ts) => out.push({ linkType, data: buf.slice(off, off + capLen), ts }),
    () => {},
  );
  return out;
}

/** Collects what the broker sends (copies, since its buffer is reused). */
function collector() {
  const got: { dest: Destination; bytes: Uint8Array }[] = [];
  return {
    got,
    send: (dest: Destination, p: Uint8Array, len: number) => got.push({ dest, bytes: p.slice(0, len) }),
  };
}

function replay(broker: ReturnType<typeof createPacketBroker>, pkts: Captured[], ifIndex = 0) {
  const m = new PacketMeta();
  for (const p of pkts) {
    decodeFrame(m, p.linkType, p.data, 0, p.data.length);
    broker.onPacket(m, p.data, 0, p.data.length, p.ts, ifIndex);
  }
}

describe("symmetric flow hash", () => {
  it("sends both directions of every flow to the same destination, and spreads flows", () => {
    const dests = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"].map((address) => ({ address }));
    const c = collector();
    const broker = createPacketBroker({
      policies: [policy({ action: { destinations: dests, encap: { type: "vxlan", vni: 1 } } })],
      agentId: "a",
      dedup: false,
      send: c.send,
    });
    const m = new PacketMeta();
    const used = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const cli = `10.0.${i >> 8}.${i & 255}`;
      const fwd = tcpFrame(cli, "192.168.1.1", 30000 + i, 443);
      const rev = tcpFrame("192.168.1.1", cli, 443, 30000 + i);
      expect(symmetricFlowHash(decoded(fwd))).toBe(symmetricFlowHash(decoded(rev)));
      for (const f of [fwd, rev]) {
        decodeFrame(m, 1, f, 0, f.length);
        broker.onPacket(m, f, 0, f.length, i);
      }
      const [a, b] = c.got.slice(-2);
      expect(a!.dest.address).toBe(b!.dest.address);
      used.add(a!.dest.address);
    }
    expect(used.size).toBe(4);
    // IPv6 too
    const v6a = decoded(tcpFrame("2001:db8::1", "2001:db8::2", 1234, 80));
    const v6b = decoded(tcpFrame("2001:db8::2", "2001:db8::1", 80, 1234));
    expect(symmetricFlowHash(v6a)).toBe(symmetricFlowHash(v6b));
  });
});

describe("bandwidth cap", () => {
  it("holds a cap of 10 Mbit/s within 5 % with twice the rate offered, drops counted", () => {
    const c = collector();
    const broker = createPacketBroker({
      policies: [
        policy({
          action: {
            destinations: [{ address: "127.0.0.1" }],
            encap: { type: "vxlan", vni: 1 },
            bandwidthCap: { mbps: 10, burstBytes: 16_000 },
          },
        }),
      ],
      agentId: "a",
      dedup: false,
      send: c.send,
    });
    const payload = Array.from({ length: 1000 }, (_, i) => i & 255);
    const m = new PacketMeta();
    const seconds = 2;
    const copyLen =
      Encapsulator.headerLen({ kind: 1 } as never) + tcpFrame("10.0.0.1", "10.0.0.2", 1, 2, payload).length;
    const perSecond = Math.ceil(20e6 / 8 / copyLen);
    const total = perSecond * seconds;
    for (let i = 0; i < total; i++) {
      const f = tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80, payload, { seq: i });
      decodeFrame(m, 1, f, 0, f.length);
      broker.onPacket(m, f, 0, f.length, Math.floor((i * 1e6) / perSecond));
    }
    const s = broker.stats().policies[0]!;
    const mbps = (s.bytes * 8) / seconds / 1e6;
    expect(Math.abs(mbps - 10) / 10).toBeLessThan(0.05);
    expect(s.matched).toBe(total);
    expect(s.sent + s.droppedByCap).toBe(total);
    expect(s.droppedByCap).toBeGreaterThan(total * 0.4);
  });
});

describe("two agents, addresses split between their hosts", () => {
  const pkts = loadPcap("http1-get.pcap");
  const m = new PacketMeta();
  const first = pkts[0]!;
  decodeFrame(m, first.linkType, first.data, 0, first.data.length);
  const client = ipText(m.ipVersion, m.src0, m.src1, m.src2, m.src3);
  const server = ipText(m.ipVersion, m.dst0, m.dst1, m.dst2, m.dst3);
  const designatedMap = {
    agents: [
      { agentId: "A", addresses: [client] },
      { agentId: "B", addresses: [server] },
    ],
  };

  function run(designated: boolean) {
    const c = collector();
    const brokers = ["A", "B"].map((agentId) =>
      createPacketBroker({
        policies: [policy({ id: "all" })],
        designatedMap,
        designated,
        agentId,
        send: c.send,
      }),
    );
    for (const b of brokers) replay(b, pkts);
    return { got: c.got, stats: brokers.map((b) => b.stats().policies[0]!) };
  }

  it("deliver each packet once with dedup on, twice with it off", () => {
    const on = run(true);
    expect(on.got).toHaveLength(pkts.length);
    expect(on.stats.map((s) => s.sent + s.notDesignated)).toEqual([pkts.length, pkts.length]);
    expect(on.stats[0]!.sent).toBeGreaterThan(0);
    expect(on.stats[1]!.sent).toBeGreaterThan(0);
    const inner = (b: Uint8Array) => Buffer.from(b.subarray(36)).toString("hex");
    expect(new Set(on.got.map((g) => inner(g.bytes))).size).toBe(pkts.length);
    expect(on.got.map((g) => inner(g.bytes)).sort()).toEqual(
      pkts.map((p) => Buffer.from(p.data).toString("hex")).sort(),
    );
    const off = run(false);
    expect(off.got).toHaveLength(pkts.length * 2);
  });

  it("one agent seeing the capture on two interfaces forwards it once", () => {
    const c = collector();
    const b = createPacketBroker({
      policies: [policy({ id: "all" })],
      agentId: "A",
      interfaces: ["eth0", "br0"],
      send: c.send,
    });
    const m2 = new PacketMeta();
    for (const p of pkts) {
      for (const ifIndex of [0, 1]) {
        decodeFrame(m2, p.linkType, p.data, 0, p.data.length);
        b.onPacket(m2, p.data, 0, p.data.length, p.ts + ifIndex * 30, ifIndex);
      }
    }
    const s = b.stats().policies[0]!;
    expect([s.matched, s.sent, s.deduplicated]).toEqual([pkts.length * 2, pkts.length, pkts.length]);
  });
});

describe("counters", () => {
  it("counts matched, sent, bytes, truncated; refuses invalid policies with paths", () => {
    const c = collector();
    const b = createPacketBroker({
      policies: [
        policy({
          id: "t",
          action: { destinations: [{ address: "127.0.0.1" }], encap: { type: "gre" }, truncatePayload: 0 },
        }),
      ],
      agentId: "a",
      send: c.send,
    });
    replay(b, loadPcap("http1-get.pcap"));
    const s = b.stats().policies[0]!;
    expect(s.matched).toBe(14);
    expect(s.sent).toBe(14);
    expect(s.truncated).toBeGreaterThan(0);
    expect(s.bytes).toBe(c.got.reduce((n, g) => n + g.bytes.length, 0));
    expect(() => createPacketBroker({ policies: [{ id: "x" }], agentId: "a", send: c.send })).toThrow(
      /policies\[0\]\.action/,
    );
  });
});
