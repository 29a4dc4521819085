/**
 * The one "packet meta" record the decoders write into. A single instance is reused for every
 * packet so the hot path allocates nothing; fields are plain numbers (V8 keeps them unboxed in
 * the object's in-object slots when they stay small integers or doubles).
 *
 * IP addresses are held as four 32-bit words (IPv4 uses word 0, the rest 0), so IPv4 and IPv6
 * share one compare/hash path in the flow table. Every 32-bit field (addresses, seq, ack, GRE
 * key) is a SIGNED int32: V8 keeps those unboxed, while values ≥ 2^31 would become heap
 * numbers each time they cross a call boundary (measured: ~190 bytes of garbage per packet).
 */
export const TunnelType = {
  none: 0,
  vxlan: 1,
  geneve: 2,
  gre: 3,
  erspan2: 4,
  erspan3: 5,
  ipip: 6,
} as const;

export const TUNNEL_NAMES = ["", "vxlan", "geneve", "gre", "erspan2", "erspan3", "ipip"] as const;

export const DecodeError = {
  ok: 0,
  truncated: 1,
  unknownLinkType: 2,
  notIp: 3,
  badIpHeader: 4,
  badL4Header: 5,
  tooDeep: 6,
} as const;

export const DECODE_ERROR_NAMES = [
  "ok",
  "truncated",
  "unknown_link_type",
  "not_ip",
  "bad_ip_header",
  "bad_l4_header",
  "too_deep",
] as const;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export class PacketMeta {
  ipVersion = 0;
  src0 = 0;
  src1 = 0;
  src2 = 0;
  src3 = 0;
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  /** IP protocol of the innermost L4 header (after IPv6 extension headers). */
  proto = 0;
  srcPort = 0;
  dstPort = 0;
  /** IPv4 identification (or IPv6 fragment header id), for fragment attribution. */
  ipId = 0;
  /** 1 when this is a fragment whose L4 header is not in this packet (non-first fragment). */
  laterFragment = 0;
  /** 1 for any fragment (first or later). */
  fragment = 0;
  moreFragments = 0;
  /** Key of the (last) fragmented IP layer: src/dst folded to one word each, id, protocol. */
  fragSrc = 0;
  fragDst = 0;
  fragProto = 0;
  fragId = 0;
  /** Bytes of L4 payload according to the IP length fields (not the captured length). */
  payloadLen = 0;
  /** Offset of the L4 payload in the frame buffer (may be past capLen on snaplen-cut frames). */
  payloadOffset = 0;

  tcpFlags = 0;
  seq = 0;
  ack = 0;
  window = 0;
  /** Where the TCP options are in the frame buffer ([offset, end), empty when none). */
  tcpOptOffset = 0;
  tcpOptEnd = 0;
  /** TCP options, filled only by `decodeTcpOptions` (packet.ts); -1 = absent. */
  mss = -1;
  wscale = -1;
  sackPermitted = 0;
  sackBlocks = 0;
  tsVal = -1;
  tsEcr = -1;

  icmpType = -1;
  icmpCode = -1;

  /** Innermost VLAN id seen on the way in; 0 = untagged. */
  vlan = 0;
  mplsLabels = 0;

  /** Outermost tunnel met (the one an operator configured); see TunnelType. */
  tunnelType = 0;
  tunnelId = 0;
  outerVersion = 0;
  outerSrc0 = 0;
  outerSrc1 = 0;
  outerSrc2 = 0;
  outerSrc3 = 0;
  outerDst0 = 0;
  outerDst1 = 0;
  outerDst2 = 0;
  outerDst3 = 0;

  error = 0;
  depth = 0;

  /** Decoder configuration carried by the reused record (not reset per packet). */
  vxlanPort = 4789;
  genevePort = 6081;

  reset(): void {
    this.ipVersion = 0;
    this.src0 = this.src1 = this.src2 = this.src3 = 0;
    this.dst0 = this.dst1 = this.dst2 = this.dst3 = 0;
    this.proto = 0;
    this.srcPort = this.dstPort = 0;
    this.ipId = 0;
    this.laterFragment = 0;
    this.fragment = 0;
    this.moreFragments = 0;
    this.payloadLen = 0;
    this.payloadOffset = 0;
    this.tcpFlags = 0;
    this.seq = this.ack = this.window = 0;
    this.tcpOptOffset = this.tcpOptEnd = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.vlan = 0;
    this.mplsLabels = 0;
    // The tunnel fields (and depth) are only written on entering a tunnel, which sets
    // tunnelType (meta-record.ts copies them the same way): after an untunnelled packet they
    // are zero already.
    if (this.tunnelType !== 0 || this.depth !== 0) this.resetTunnel();
    this.error = 0;
  }

  /** Out of `reset` (rare): keeps the per-packet path within V8's inlining budget. */
  private resetTunnel(): void {
    this.tunnelType = 0;
    this.tunnelId = 0;
    this.outerVersion = 0;
    this.outerSrc0 = this.outerSrc1 = this.outerSrc2 = this.outerSrc3 = 0;
    this.outerDst0 = this.outerDst1 = this.outerDst2 = this.outerDst3 = 0;
    this.depth = 0;
  }
}
