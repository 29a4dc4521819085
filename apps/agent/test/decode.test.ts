import { describe, expect, it } from "vitest";
import { decodeFrame, decodeTcpOptions } from "../src/decode/packet.ts";
import { DecodeError, PacketMeta, TunnelType } from "../src/decode/packet-meta.ts";
import { ipText } from "../src/flow/ip-text.ts";
import * as F from "./helpers/frames.ts";

const m = new PacketMeta();
const dec = (lt: number, b: Uint8Array) => decodeFrame(m, lt, b, 0, b.length);
const src = () => ipText(m.ipVersion, m.src0, m.src1, m.src2, m.src3);
const dst = () => ipText(m.ipVersion, m.dst0, m.dst1, m.dst2, m.dst3);
const outerSrc = () => ipText(m.outerVersion, m.outerSrc0, m.outerSrc1, m.outerSrc2, m.outerSrc3);

const tcpV4 = F.ipv4(
  6,
  "10.0.0.1",
  "192.168.1.2",
  F.tcp(40000, 80, [1, 2, 3], { seq: 0xfffffff0, flags: 0x18 }),
);

describe("link types", () => {
  it.each([
    ["ethernet", 1, F.eth(0x0800, tcpV4)],
    ["raw", 101, tcpV4],
    ["raw ipv4 (228)", 228, tcpV4],
    ["linux sll", 113, F.sll(0x0800, tcpV4)],
    ["linux sll2", 276, F.sll2(0x0800, tcpV4)],
    ["bsd null (little endian)", 0, F.nullLink(2, tcpV4)],
    ["bsd null (big endian)", 0, F.nullLink(2, tcpV4, false)],
    ["bsd loop", 108, F.nullLink(2, tcpV4, false)],
  ])("%s", (_n, lt, frame) => {
    expect(dec(lt as number, frame as Uint8Array)).toBe(DecodeError.ok);
    expect([src(), dst(), m.srcPort, m.dstPort, m.proto]).toEqual(["10.0.0.1", "192.168.1.2", 40000, 80, 6]);
    expect(m.seq >>> 0).toBe(0xfffffff0);
    expect(m.payloadLen).toBe(3);
  });

  it("raw IPv6 (229) and NULL with the BSD IPv6 family values", () => {
    const v6 = F.ipv6(17, "2001:db8::1", "2001:db8::2", F.udp(5353, 53, [1, 2]));
    expect(dec(229, v6)).toBe(0);
    expect([src(), dst(), m.dstPort]).toEqual(["2001:db8::1", "2001:db8::2", 53]);
    for (const fam of [24, 28, 30]) {
      expect(dec(0, F.nullLink(fam, v6))).toBe(0);
      expect(m.ipVersion).toBe(6);
    }
  });

  it("unknown link type and non-IP frames are told apart", () => {
    expect(dec(999, tcpV4)).toBe(DecodeError.unknownLinkType);
    expect(dec(1, F.eth(0x0806, new Uint8Array(28)))).toBe(DecodeError.notIp);
  });
});

describe("ethernet encapsulations", () => {
  it("802.1Q, QinQ (0x88a8 and 0x9100) keep the innermost VLAN", () => {
    expect(dec(1, F.eth(0x0800, tcpV4, [{ tpid: 0x8100, id: 100 }]))).toBe(0);
    expect(m.vlan).toBe(100);
    expect(
      dec(
        1,
        F.eth(0x0800, tcpV4, [
          { tpid: 0x88a8, id: 200 },
          { tpid: 0x8100, id: 300 },
        ]),
      ),
    ).toBe(0);
    expect(m.vlan).toBe(300);
    expect(
      dec(
        1,
        F.eth(0x0800, tcpV4, [
          { tpid: 0x9100, id: 7 },
          { tpid: 0x8100, id: 8 },
        ]),
      ),
    ).toBe(0);
    expect([m.vlan, m.dstPort]).toEqual([8, 80]);
  });

  it("MPLS label stacks (IPv4, IPv6)", () => {
    expect(dec(1, F.eth(0x8847, F.mpls([16, 17, 18], tcpV4)))).toBe(0);
    expect([m.mplsLabels, m.dstPort]).toEqual([3, 80]);
    const v6 = F.ipv6(6, "fd00::1", "fd00::2", F.tcp(1, 2));
    expect(dec(1, F.eth(0x8847, F.mpls([100], v6)))).toBe(0);
    expect([m.ipVersion, src()]).toEqual([6, "fd00::1"]);
  });
});

describe("IP", () => {
  it("IPv4 options are skipped", () => {
    const f = F.ipv4(17, "1.2.3.4", "5.6.7.8", F.udp(1000, 2000, [9]), { options: [1, 1, 1, 0] });
    expect(dec(101, f)).toBe(0);
    expect([m.srcPort, m.dstPort, m.payloadLen]).toEqual([1000, 2000, 1]);
  });

  it("IPv4 fragments: the first has ports, later ones are marked", () => {
    const first = F.ipv4(17, "1.2.3.4", "5.6.7.8", F.udp(1000, 53, new Array(16).fill(0)), {
      id: 77,
      mf: true,
    });
    expect(dec(101, first)).toBe(0);
    expect([m.fragment, m.laterFragment, m.dstPort, m.fragId]).toEqual([1, 0, 53, 77]);
    const later = F.ipv4(17, "1.2.3.4", "5.6.7.8", new Array(8).fill(0), { id: 77, fragOffset: 24 });
    expect(dec(101, later)).toBe(0);
    expect([m.fragment, m.laterFragment, m.dstPort, m.fragId]).toEqual([1, 1, 0, 77]);
  });

  it("IPv6 extension headers: hop-by-hop, routing, destination options, AH", () => {
    const f = F.ipv6(6, "2001:db8::a", "2001:db8::b", F.tcp(443, 50000), [
      [0, F.optsHeader()],
      [43, F.routingHeader()],
      [60, F.optsHeader()],
      [51, F.ahHeader()],
    ]);
    expect(dec(229, f)).toBe(0);
    expect([m.proto, m.srcPort, m.dstPort]).toEqual([6, 443, 50000]);
  });

  it("IPv6 fragment header", () => {
    const first = F.ipv6(17, "::1", "::2", F.udp(1, 2, [0, 0, 0, 0]), [[44, F.fragHeader(0, true, 9)]]);
    expect(dec(229, first)).toBe(0);
    expect([m.fragment, m.laterFragment, m.dstPort]).toEqual([1, 0, 2]);
    const later = F.ipv6(17, "::1", "::2", [0, 0, 0, 0, 0, 0, 0, 0], [[44, F.fragHeader(8, false, 9)]]);
    expect(dec(229, later)).toBe(0);
    expect([m.fragment, m.laterFragment, m.proto]).toEqual([1, 1, 17]);
  });

  it("TCP options: MSS, window scale, SACK permitted, SACK blocks, timestamps", () => {
    const syn = F.ipv4(
      6,
      "1.1.1.1",
      "2.2.2.2",
      F.tcp(1, 2, [], {
        flags: 0x02,
        options: [
          ...F.TCP_OPT_MSS(1460),
          1,
          ...F.TCP_OPT_WSCALE(7),
          ...F.TCP_OPT_SACK_PERM,
          ...F.TCP_OPT_TS(11, 22),
        ],
      }),
    );
    expect(dec(101, syn)).toBe(0);
    decodeTcpOptions(m, syn);
    expect([m.mss, m.wscale, m.sackPermitted, m.tsVal, m.tsEcr, m.tcpFlags]).toEqual([1460, 7, 1, 11, 22, 2]);
    const sack = F.ipv4(
      6,
      "1.1.1.1",
      "2.2.2.2",
      F.tcp(1, 2, [], {
        options: [
          1,
          1,
          ...F.TCP_OPT_SACK([
            [1, 2],
            [3, 4],
          ]),
        ],
      }),
    );
    expect(dec(101, sack)).toBe(0);
    decodeTcpOptions(m, sack);
    expect(m.sackBlocks).toBe(2);
  });

  it("ICMP and ICMPv6", () => {
    expect(dec(101, F.ipv4(1, "1.1.1.1", "2.2.2.2", F.icmpEcho(8)))).toBe(0);
    expect([m.proto, m.icmpType]).toEqual([1, 8]);
    expect(dec(229, F.ipv6(58, "::1", "::2", F.icmpEcho(128)))).toBe(0);
    expect([m.proto, m.icmpType]).toEqual([58, 128]);
  });
});

describe("tunnels: the innermost headers win, the outer tunnel is tagged", () => {
  const inner = F.eth(0x0800, tcpV4);
  const check = (type: number, id: number) => {
    expect([src(), dst(), m.srcPort, m.dstPort]).toEqual(["10.0.0.1", "192.168.1.2", 40000, 80]);
    expect([m.tunnelType, m.tunnelId, outerSrc()]).toEqual([type, id, "172.16.0.1"]);
  };
  const outer4 = (proto: number, payload: Uint8Array) =>
    F.eth(0x0800, F.ipv4(proto, "172.16.0.1", "172.16.0.2", payload));

  it("VXLAN on 4789 and on a configured port", () => {
    expect(dec(1, outer4(17, F.udp(55555, 4789, F.vxlan(4242, inner))))).toBe(0);
    check(TunnelType.vxlan, 4242);
    const custom = outer4(17, F.udp(55555, 8472, F.vxlan(1, inner)));
    expect(dec(1, custom)).toBe(0);
    expect(m.tunnelType).toBe(0);
    m.vxlanPort = 8472;
    expect(dec(1, custom)).toBe(0);
    check(TunnelType.vxlan, 1);
    m.vxlanPort = 4789;
  });

  it("VXLAN over an IPv6 outer header", () => {
    const f = F.eth(0x86dd, F.ipv6(17, "2001:db8::1", "2001:db8::2", F.udp(1, 4789, F.vxlan(5, inner))));
    expect(dec(1, f)).toBe(0);
    expect([m.tunnelType, m.outerVersion, outerSrc(), m.dstPort]).toEqual([
      TunnelType.vxlan,
      6,
      "2001:db8::1",
      80,
    ]);
  });

  it("Geneve with options, Ethernet and IP payloads", () => {
    expect(dec(1, outer4(17, F.udp(1, 6081, F.geneve(99, 0x6558, inner, 2))))).toBe(0);
    check(TunnelType.geneve, 99);
    expect(dec(1, outer4(17, F.udp(1, 6081, F.geneve(98, 0x0800, tcpV4))))).toBe(0);
    check(TunnelType.geneve, 98);
  });

  it("GRE: IPv4 with key and sequence, TEB, checksum", () => {
    expect(dec(1, outer4(47, F.gre(0x0800, tcpV4, { key: 7, seq: 1 })))).toBe(0);
    check(TunnelType.gre, 7);
    expect(dec(1, outer4(47, F.gre(0x6558, inner, { csum: true })))).toBe(0);
    check(TunnelType.gre, 0);
    const v6 = F.ipv6(6, "fd00::1", "fd00::2", F.tcp(1, 2));
    expect(dec(1, outer4(47, F.gre(0x86dd, v6)))).toBe(0);
    expect([m.ipVersion, m.tunnelType]).toEqual([6, TunnelType.gre]);
  });

  it("ERSPAN type II (0x88be) and III (0x22eb, with platform subheader)", () => {
    expect(dec(1, outer4(47, F.gre(0x88be, F.erspan2(33, inner), { seq: 5 })))).toBe(0);
    check(TunnelType.erspan2, 33);
    expect(dec(1, outer4(47, F.gre(0x22eb, F.erspan3(44, inner), { seq: 5 })))).toBe(0);
    check(TunnelType.erspan3, 44);
    expect(dec(1, outer4(47, F.gre(0x22eb, F.erspan3(45, inner, true), { seq: 5 })))).toBe(0);
    check(TunnelType.erspan3, 45);
  });

  it("IP-in-IP (4) and IPv6-in-IPv4 (41)", () => {
    expect(dec(1, outer4(4, tcpV4))).toBe(0);
    check(TunnelType.ipip, 0);
    const v6 = F.ipv6(17, "fd00::1", "fd00::2", F.udp(3, 4));
    expect(dec(1, outer4(41, v6))).toBe(0);
    expect([m.ipVersion, m.dstPort, m.tunnelType]).toEqual([6, 4, TunnelType.ipip]);
  });

  it("a VXLAN frame carrying ARP is non-IP", () => {
    expect(dec(1, outer4(17, F.udp(1, 4789, F.vxlan(1, F.eth(0x0806, new Uint8Array(28))))))).toBe(
      DecodeError.notIp,
    );
  });
});

describe("bad input", () => {
  it("truncations at every length never throw and report an error code", () => {
    const f = F.eth(
      0x0800,
      F.ipv4(17, "172.16.0.1", "172.16.0.2", F.udp(1, 4789, F.vxlan(1, F.eth(0x0800, tcpV4)))),
    );
    for (let n = 0; n < f.length; n++) {
      const r = decodeFrame(m, 1, f, 0, n);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(6);
    }
  });

  it("bogus IPv4 header length and TCP data offset", () => {
    const bad = new Uint8Array(tcpV4);
    bad[0] = 0x43;
    expect(dec(101, bad)).toBe(DecodeError.badIpHeader);
    const badTcp = new Uint8Array(tcpV4);
    badTcp[20 + 12] = 0x20;
    expect(dec(101, badTcp)).toBe(DecodeError.badL4Header);
  });
});
