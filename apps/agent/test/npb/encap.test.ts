import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type CopyOptions,
  EncapKind,
  type EncapParams,
  Encapsulator,
  ipChecksum,
  ipv4ToInt,
} from "../../src/npb/encap.ts";
import { FrameLayout, locateFrame } from "../../src/npb/frame-layout.ts";
import { decoded, F, tcpFrame } from "./fixtures.ts";
import { tsharkFields, writeRawPcap } from "./pcap-out.ts";

const dir = mkdtempSync(join(tmpdir(), "npb-encap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const enc = new Encapsulator(ipv4ToInt("127.0.0.1"));
const DST = ipv4ToInt("127.0.0.2");
const base = { vni: 0, greKey: -1, sessionId: 0, erspanVlan: 0, cos: 0, hardwareId: 0 };
const VXLAN: EncapParams = { ...base, kind: EncapKind.vxlan, vni: 0x123456 };
const GRE: EncapParams = { ...base, kind: EncapKind.gre, greKey: 77 };
const ERSPAN2: EncapParams = { ...base, kind: EncapKind.erspan2, sessionId: 300, erspanVlan: 12, cos: 5 };
const ERSPAN3: EncapParams = { ...base, kind: EncapKind.erspan3, sessionId: 1001, hardwareId: 9 };
const keep: CopyOptions = { stripTunnel: false, truncatePayload: -1, markVlan: -1, markDscp: -1 };

function build(e: EncapParams, frame: Uint8Array, o: Partial<CopyOptions> = {}, linkType = 1, seq = 1) {
  const m = decoded(frame, linkType);
  const L = new FrameLayout();
  locateFrame(L, m, linkType, frame, 0, frame.length);
  const len = enc.build(
    e,
    DST,
    { ...keep, ...o },
    m,
    L,
    frame,
    0,
    frame.length,
    1_700_000_000_123_456,
    12345,
    seq,
  );
  return {
    bytes: enc.out.slice(0, len),
    inner: enc.out.slice(Encapsulator.headerLen(e), len),
    truncated: enc.truncated,
  };
}

const payload = Array.from({ length: 100 }, (_, i) => i);
const frame = tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80, payload);

describe("encapsulation", () => {
  it("VXLAN: outer IPv4 with valid checksum and lengths, UDP 4789, VNI, inner frame byte-identical", () => {
    const { bytes, inner } = build(VXLAN, frame);
    expect(bytes.length).toBe(20 + 8 + 8 + frame.length);
    expect(ipChecksum(bytes, 0, 20)).toBe(0);
    expect((bytes[2]! << 8) | bytes[3]!).toBe(bytes.length);
    expect(bytes[9]).toBe(17);
    expect((bytes[22]! << 8) | bytes[23]!).toBe(4789);
    expect((bytes[24]! << 8) | bytes[25]!).toBe(bytes.length - 20);
    expect(bytes[28]).toBe(0x08);
    expect((bytes[32]! << 16) | (bytes[33]! << 8) | bytes[34]!).toBe(0x123456);
    expect(Buffer.from(inner).equals(Buffer.from(frame))).toBe(true);
  });

  it("truncates to N bytes of L4 payload and says so", () => {
    const { inner, truncated } = build(VXLAN, frame, { truncatePayload: 10 });
    expect(truncated).toBe(true);
    expect(inner.length).toBe(14 + 20 + 20 + 10);
    expect(Buffer.from(inner).equals(Buffer.from(frame.subarray(0, inner.length)))).toBe(true);
    expect(build(VXLAN, frame, { truncatePayload: 1000 }).truncated).toBe(false);
  });

  it("strips VXLAN and GRE(IP) tunnels, delivering the inner frame", () => {
    const tunnelled = F.eth(
      0x0800,
      F.ipv4(17, "172.16.0.1", "172.16.0.2", F.udp(5555, 4789, F.vxlan(9, frame))),
    );
    expect(Buffer.from(build(VXLAN, tunnelled, { stripTunnel: true }).inner).equals(Buffer.from(frame))).toBe(
      true,
    );
    expect(Buffer.from(build(VXLAN, tunnelled).inner).equals(Buffer.from(tunnelled))).toBe(true);
    const innerIp = frame.subarray(14);
    const greIp = F.eth(0x0800, F.ipv4(47, "172.16.0.1", "172.16.0.2", F.gre(0x0800, innerIp, { key: 5 })));
    const { inner } = build(VXLAN, greIp, { stripTunnel: true });
    expect(Array.from(inner.subarray(0, 12))).toEqual(Array.from(greIp.subarray(0, 12))); // outer MACs kept
    expect((inner[12]! << 8) | inner[13]!).toBe(0x0800);
    expect(Buffer.from(inner.subarray(14)).equals(Buffer.from(innerIp))).toBe(true);
    const erspan = F.eth(
      0x0800,
      F.ipv4(47, "172.16.0.1", "172.16.0.2", F.gre(0x88be, F.erspan2(3, frame), { seq: 1 })),
    );
    expect(Buffer.from(build(GRE, erspan, { stripTunnel: true }).inner).equals(Buffer.from(frame))).toBe(
      true,
    );
  });

  it("synthesizes Ethernet for raw-IP captures", () => {
    const raw = frame.subarray(14);
    const { inner } = build(VXLAN, raw, {}, 101);
    expect((inner[12]! << 8) | inner[13]!).toBe(0x0800);
    expect(Buffer.from(inner.subarray(14)).equals(Buffer.from(raw))).toBe(true);
  });

  it("marks the copy: inserts or rewrites a VLAN tag, rewrites DSCP (IPv4 checksum recomputed, IPv6 traffic class)", () => {
    const ins = build(VXLAN, frame, { markVlan: 300 }).inner;
    expect(ins.length).toBe(frame.length + 4);
    expect(Array.from(ins.subarray(12, 16))).toEqual([0x81, 0x00, 0x01, 0x2c]);
    expect(Buffer.from(ins.subarray(16)).equals(Buffer.from(frame.subarray(12)))).toBe(true);
    const tagged = tcpFrame("10.0.0.1", "10.0.0.2", 40000, 80, payload, { vlan: 10 });
    tagged[14] = 0xa0; // PCP 5 kept
    const rw = build(VXLAN, tagged, { markVlan: 4000 }).inner;
    expect(rw.length).toBe(tagged.length);
    expect(((rw[14]! << 8) | rw[15]!) & 0xfff).toBe(4000);
    expect(rw[14]! >> 5).toBe(5);
    const ds = build(VXLAN, frame, { markDscp: 46 }).inner;
    expect(ds[15]! >> 2).toBe(46);
    expect(ipChecksum(ds, 14, 20)).toBe(0);
    const v6 = tcpFrame("2001:db8::1", "2001:db8::2", 40000, 443, payload);
    v6[14] = 0x6f; // traffic class 0xf? with flow label bits set, to check they survive
    v6[15] = 0x1a;
    const d6 = build(VXLAN, v6, { markDscp: 10 }).inner;
    const tc = ((d6[14]! & 0x0f) << 4) | (d6[15]! >> 4);
    expect(tc >> 2).toBe(10);
    expect(tc & 3).toBe(0xf1 & 3);
    expect(d6[14]! >> 4).toBe(6);
    expect(d6[15]! & 0x0f).toBe(0x0a);
  });

  it("tshark dissects VXLAN, GRE, ERSPAN II and III copies with the inner frame intact", () => {
    const copies = [
      build(VXLAN, frame).bytes,
      build(GRE, frame).bytes,
      build(ERSPAN2, frame, {}, 1, 41).bytes,
      build(ERSPAN3, frame, {}, 1, 42).bytes,
      build(ERSPAN2, frame, { truncatePayload: 10, markVlan: 7 }, 1, 43).bytes,
    ];
    const path = join(dir, "encap.pcap");
    writeRawPcap(path, copies);
    const rows = tsharkFields(
      path,
      [
        "frame.protocols",
        "ip.checksum.status",
        "vxlan.vni",
        "gre.key",
        "gre.sequence_number",
        "erspan.version",
        "erspan.spanid",
        "erspan.vlan",
        "erspan.cos",
        "erspan.truncated",
        "erspan.hw",
        "ip.src",
        "tcp.srcport",
        "tcp.dstport",
        "tcp.len",
        "vlan.id",
      ],
      ["-o", "ip.check_checksum:TRUE", "-d", "udp.port==4789,vxlan"],
    );
    expect(rows).toHaveLength(5);
    const [vx, gre, e2, e3, e2t] = rows as string[][];
    expect(vx![0]).toMatch(/^raw:ip:udp:vxlan:eth:ethertype:ip:tcp/);
    expect(vx![1]!.split(",")[0]).toBe("1"); // outer checksum good (the fixture's inner checksum is 0: bad, as captured)
    expect(vx![2]).toBe(String(0x123456));
    expect(vx!.slice(11, 15)).toEqual(["127.0.0.1,10.0.0.1", "40000", "80", "100"]);
    expect(gre![0]).toMatch(/^raw:ip:gre:eth:ethertype:ip:tcp/);
    expect(Number(gre![3])).toBe(77);
    expect(e2![0]).toMatch(/^raw:ip:gre:erspan:eth:ethertype:ip:tcp/);
    expect(e2!.slice(4, 9)).toEqual(["41", "1", "300", "12", "5"]);
    expect(e3![0]).toMatch(/^raw:ip:gre:erspan:eth:ethertype:ip:tcp/);
    expect(e3!.slice(4, 7)).toEqual(["42", "2", "1001"]);
    expect(e3![10]).toBe("9");
    expect(e2t![9]).toBe("1");
    expect(e2t![15]).toBe("7");
    expect(e2t![14]).toBe("10");
  });
});
