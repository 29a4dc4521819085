/**
 * Frame decoder: link layer → VLAN/QinQ/MPLS → IPv4/IPv6 (+ extension headers, fragments) →
 * TCP/UDP/ICMP, descending through VXLAN, Geneve, GRE (TEB, ERSPAN I/II/III) and IP-in-IP so
 * that the record ends up holding the INNERMOST headers plus the outermost tunnel as tags.
 *
 * One file on purpose: the layers call each other recursively (an inner Ethernet frame inside
 * VXLAN inside IPv4 inside MPLS), and keeping them in one module lets V8 inline the small
 * readers. Nothing is allocated: every result is written into the caller's PacketMeta, and the
 * return value is a DecodeError code (0 = ok). Lengths come from the IP headers, not from the
 * captured length, so snaplen-cut frames still yield the right TCP segment lengths.
 */
import { DecodeError, type PacketMeta, TunnelType } from "./packet-meta.ts";

export const LinkType = {
  null: 0,
  ethernet: 1,
  raw: 101,
  loop: 108,
  linuxSll: 113,
  ipv4: 228,
  ipv6: 229,
  linuxSll2: 276,
} as const;

/**
 * DecodeError as a same-file enum: esbuild writes its members as literals, while V8 loads a
 * module-level or imported constant at run time even in optimized code (every return here).
 */
enum Err {
  OK = 0,
  TRUNCATED = 1,
  UNKNOWN_LINK_TYPE = 2,
  NOT_IP = 3,
  BAD_IP_HEADER = 4,
  BAD_L4_HEADER = 5,
  TOO_DEEP = 6,
}
if (
  Err.OK !== DecodeError.ok ||
  Err.TRUNCATED !== DecodeError.truncated ||
  Err.UNKNOWN_LINK_TYPE !== DecodeError.unknownLinkType ||
  Err.NOT_IP !== DecodeError.notIp ||
  Err.BAD_IP_HEADER !== DecodeError.badIpHeader ||
  Err.BAD_L4_HEADER !== DecodeError.badL4Header ||
  Err.TOO_DEEP !== DecodeError.tooDeep
) {
  throw new Error("packet.ts: enum Err out of step with DecodeError");
}

const MAX_DEPTH = 8;

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Signed int32 on purpose: small integers stay unboxed when passed around and stored. */
function u32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

/**
 * The decoders read through a DataView of the frame's buffer: a 16- or 32-bit field is one
 * bounds-checked load (V8 compiles DataView reads inline) instead of two or four byte loads,
 * each with its own bounds and overflow checks. Readers hand frames from one block buffer for a
 * long time, so the view is made again only when the buffer changes. 32-bit reads are signed
 * (getInt32), like u32.
 */
let viewOf: Uint8Array | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/** Decode one frame into `m`. `end` bounds the captured bytes. Returns a DecodeError code. */
export function decodeFrame(
  m: PacketMeta,
  linkType: number,
  b: Uint8Array,
  off: number,
  capLen: number,
): number {
  m.reset();
  if (b !== viewOf) {
    view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    viewOf = b;
  }
  const d = view;
  // A DataView read past the buffer throws (an index past a Uint8Array read undefined): a
  // length past the buffer is cut to it, so such a frame is truncated, never an exception.
  const end = Math.min(off + capLen, b.length);
  // Ethernet here, the other link types out of line: this function stays small enough (V8
  // inlines callees of up to 460 bytecode bytes) to be inlined into the record loop, one call
  // less per packet.
  const r = linkType === 1 ? decodeEthernet(m, d, off, end) : decodeOtherLink(m, linkType, d, off, end);
  m.error = r;
  return r;
}

/** Link types other than Ethernet. */
function decodeOtherLink(m: PacketMeta, linkType: number, d: DataView, off: number, end: number): number {
  let r: number;
  switch (linkType) {
    case 101:
    case 12:
    case 14:
      r = decodeRawIp(m, d, off, end);
      break;
    case 228:
      r = decodeIpv4(m, d, off, end);
      break;
    case 229:
      r = decodeIpv6(m, d, off, end);
      break;
    case 113:
      if (off + 16 > end) r = Err.TRUNCATED;
      else r = decodeEtherType(m, d.getUint16(off + 14), d, off + 16, end);
      break;
    case 276:
      if (off + 20 > end) r = Err.TRUNCATED;
      else r = decodeEtherType(m, d.getUint16(off), d, off + 20, end);
      break;
    case 0:
    case 108: {
      if (off + 4 > end) {
        r = Err.TRUNCATED;
        break;
      }
      // NULL carries the family in the capturing host's byte order, LOOP in network order;
      // either way the value is small, so whichever reading fits in 16 bits is the right one.
      let fam = d.getUint32(off, true);
      if (fam >>> 16 !== 0) fam = d.getUint32(off);
      if (fam === 2) r = decodeIpv4(m, d, off + 4, end);
      else if (fam === 24 || fam === 28 || fam === 30 || fam === 10) r = decodeIpv6(m, d, off + 4, end);
      else r = Err.NOT_IP;
      break;
    }
    default:
      r = Err.UNKNOWN_LINK_TYPE;
  }
  return r;
}

function decodeRawIp(m: PacketMeta, d: DataView, o: number, end: number): number {
  if (o >= end) return Err.TRUNCATED;
  const v = d.getUint8(o) >> 4;
  if (v === 4) return decodeIpv4(m, d, o, end);
  if (v === 6) return decodeIpv6(m, d, o, end);
  return Err.NOT_IP;
}

export function decodeEthernet(m: PacketMeta, d: DataView, o: number, end: number): number {
  if (o + 14 > end) return Err.TRUNCATED;
  const type = d.getUint16(o + 12);
  // Untagged IPv4 first: one call less on the common path.
  if (type === 0x0800) return decodeIpv4(m, d, o + 14, end);
  return decodeEtherType(m, type, d, o + 14, end);
}

function decodeEtherType(m: PacketMeta, type: number, d: DataView, o: number, end: number): number {
  // VLAN tags (802.1Q, 802.1ad, old QinQ 0x9100) stack; the innermost tag wins.
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (o + 4 > end) return Err.TRUNCATED;
    m.vlan = d.getUint16(o) & 0x0fff;
    type = d.getUint16(o + 2);
    o += 4;
  }
  if (type === 0x0800) return decodeIpv4(m, d, o, end);
  if (type === 0x86dd) return decodeIpv6(m, d, o, end);
  if (type === 0x8847 || type === 0x8848) {
    // MPLS label stack: 4 bytes per label until the bottom-of-stack bit.
    for (;;) {
      if (o + 4 > end) return Err.TRUNCATED;
      m.mplsLabels++;
      const bos = d.getUint8(o + 2) & 1;
      o += 4;
      if (bos) break;
      if (m.mplsLabels > 16) return Err.TOO_DEEP;
    }
    if (o >= end) return Err.TRUNCATED;
    const nib = d.getUint8(o) >> 4;
    if (nib === 4) return decodeIpv4(m, d, o, end);
    if (nib === 6) return decodeIpv6(m, d, o, end);
    // Ethernet pseudowire with a zero control word.
    if (nib === 0) return decodeEthernet(m, d, o + 4, end);
    return Err.NOT_IP;
  }
  return Err.NOT_IP;
}

/** Moves the current addresses to the outer tags the first time a tunnel is entered. */
function enterTunnel(m: PacketMeta, type: number, id: number): number {
  if (++m.depth > MAX_DEPTH) return Err.TOO_DEEP;
  if (m.tunnelType === 0) {
    m.tunnelType = type;
    m.tunnelId = id;
    m.outerVersion = m.ipVersion;
    m.outerSrc0 = m.src0;
    m.outerSrc1 = m.src1;
    m.outerSrc2 = m.src2;
    m.outerSrc3 = m.src3;
    m.outerDst0 = m.dst0;
    m.outerDst1 = m.dst1;
    m.outerDst2 = m.dst2;
    m.outerDst3 = m.dst3;
  }
  // The inner packet starts clean at L4. Fragment marks stay: an outer first fragment carrying
  // a tunnel makes the whole datagram (inner flow included) a fragment set.
  m.srcPort = m.dstPort = 0;
  return 0;
}

export function decodeIpv4(m: PacketMeta, d: DataView, o: number, end: number): number {
  if (o + 20 > end) return Err.TRUNCATED;
  const vihl = d.getUint8(o);
  if (vihl >> 4 !== 4) return Err.BAD_IP_HEADER;
  const hl = (vihl & 15) * 4;
  if (hl < 20) return Err.BAD_IP_HEADER;
  let total = d.getUint16(o + 2);
  // TSO-offloaded frames captured on the sending host carry total length 0.
  if (total === 0) total = end - o;
  if (total < hl) return Err.BAD_IP_HEADER;
  m.ipVersion = 4;
  m.src0 = d.getInt32(o + 12);
  m.dst0 = d.getInt32(o + 16);
  m.src1 = m.src2 = m.src3 = m.dst1 = m.dst2 = m.dst3 = 0;
  const proto = d.getUint8(o + 9);
  m.proto = proto;
  m.ipId = d.getUint16(o + 4);
  const ff = d.getUint16(o + 6);
  const fragOff = ff & 0x1fff;
  m.moreFragments = (ff >> 13) & 1;
  const l4len = total - hl;
  if (fragOff !== 0 || m.moreFragments) {
    m.fragment = 1;
    m.fragSrc = m.src0;
    m.fragDst = m.dst0;
    m.fragProto = proto | 0x400;
    m.fragId = m.ipId;
  }
  if (fragOff !== 0) {
    m.laterFragment = 1;
    m.payloadLen = l4len;
    m.payloadOffset = o + hl;
    return Err.OK;
  }
  if (proto === 6) return decodeTcp(m, d, o + hl, l4len, end);
  return decodeL4(m, proto, d, o + hl, l4len, end);
}

export function decodeIpv6(m: PacketMeta, d: DataView, o: number, end: number): number {
  if (o + 40 > end) return Err.TRUNCATED;
  if (d.getUint8(o) >> 4 !== 6) return Err.BAD_IP_HEADER;
  let plen = d.getUint16(o + 4);
  if (plen === 0) plen = end - o - 40; // jumbogram or TSO
  m.ipVersion = 6;
  m.src0 = d.getInt32(o + 8);
  m.src1 = d.getInt32(o + 12);
  m.src2 = d.getInt32(o + 16);
  m.src3 = d.getInt32(o + 20);
  m.dst0 = d.getInt32(o + 24);
  m.dst1 = d.getInt32(o + 28);
  m.dst2 = d.getInt32(o + 32);
  m.dst3 = d.getInt32(o + 36);
  let next = d.getUint8(o + 6);
  let p = o + 40;
  let remaining = plen;
  for (let i = 0; i < 16; i++) {
    if (next === 0 || next === 43 || next === 60) {
      if (p + 2 > end) return Err.TRUNCATED;
      const len = (d.getUint8(p + 1) + 1) * 8;
      next = d.getUint8(p);
      p += len;
      remaining -= len;
    } else if (next === 51) {
      if (p + 2 > end) return Err.TRUNCATED;
      const len = (d.getUint8(p + 1) + 2) * 4;
      next = d.getUint8(p);
      p += len;
      remaining -= len;
    } else if (next === 44) {
      if (p + 8 > end) return Err.TRUNCATED;
      const fo = d.getUint16(p + 2);
      m.ipId = d.getInt32(p + 4);
      m.moreFragments = fo & 1;
      m.fragment = 1;
      m.fragSrc = m.src0 ^ m.src1 ^ m.src2 ^ m.src3;
      m.fragDst = m.dst0 ^ m.dst1 ^ m.dst2 ^ m.dst3;
      m.fragProto = d.getUint8(p) | 0x600;
      m.fragId = m.ipId;
      next = d.getUint8(p);
      p += 8;
      remaining -= 8;
      if (fo >> 3 !== 0) {
        m.laterFragment = 1;
        m.proto = next;
        m.payloadLen = remaining;
        m.payloadOffset = p;
        return Err.OK;
      }
    } else break;
    if (remaining < 0) return Err.BAD_IP_HEADER;
  }
  m.proto = next;
  return decodeL4(m, next, d, p, remaining, end);
}

function decodeL4(m: PacketMeta, proto: number, d: DataView, p: number, l4len: number, end: number): number {
  m.proto = proto;
  switch (proto) {
    case 6:
      return decodeTcp(m, d, p, l4len, end);
    case 17: {
      if (p + 8 > end) return Err.TRUNCATED;
      const sp = d.getUint16(p);
      const dp = d.getUint16(p + 2);
      m.srcPort = sp;
      m.dstPort = dp;
      m.payloadLen = l4len - 8;
      m.payloadOffset = p + 8;
      if (m.payloadLen < 0) return Err.BAD_L4_HEADER;
      const q = p + 8;
      if (dp === m.vxlanPort && q + 8 <= end && (d.getUint8(q) & 0x08) !== 0) {
        const r = enterTunnel(
          m,
          TunnelType.vxlan,
          (d.getUint8(q + 4) << 16) | (d.getUint8(q + 5) << 8) | d.getUint8(q + 6),
        );
        if (r !== 0) return r;
        return decodeEthernet(m, d, q + 8, end);
      }
      if (dp === m.genevePort && q + 8 <= end && d.getUint8(q) >> 6 === 0) {
        const optLen = (d.getUint8(q) & 0x3f) * 4;
        const type = d.getUint16(q + 2);
        const r = enterTunnel(
          m,
          TunnelType.geneve,
          (d.getUint8(q + 4) << 16) | (d.getUint8(q + 5) << 8) | d.getUint8(q + 6),
        );
        if (r !== 0) return r;
        const inner = q + 8 + optLen;
        if (type === 0x6558) return decodeEthernet(m, d, inner, end);
        return decodeEtherType(m, type, d, inner, end);
      }
      return Err.OK;
    }
    case 1:
    case 58:
      if (p + 4 > end) return Err.TRUNCATED;
      m.icmpType = d.getUint8(p);
      m.icmpCode = d.getUint8(p + 1);
      m.payloadLen = l4len;
      m.payloadOffset = p;
      return Err.OK;
    case 47:
      return decodeGre(m, d, p, l4len, end);
    case 4: {
      const r = enterTunnel(m, TunnelType.ipip, 0);
      if (r !== 0) return r;
      return decodeIpv4(m, d, p, end);
    }
    case 41: {
      const r = enterTunnel(m, TunnelType.ipip, 0);
      if (r !== 0) return r;
      return decodeIpv6(m, d, p, end);
    }
    default:
      m.payloadLen = l4len;
      m.payloadOffset = p;
      return Err.OK;
  }
}

/** The TCP header at p (m.proto is 6 already). Small, so V8 inlines it into decodeIpv4. */
function decodeTcp(m: PacketMeta, d: DataView, p: number, l4len: number, end: number): number {
  if (p + 20 > end) return Err.TRUNCATED;
  m.srcPort = d.getUint16(p);
  m.dstPort = d.getUint16(p + 2);
  m.seq = d.getInt32(p + 4);
  m.ack = d.getInt32(p + 8);
  const doff = (d.getUint8(p + 12) >> 4) * 4;
  if (doff < 20 || doff > l4len) return Err.BAD_L4_HEADER;
  m.tcpFlags = d.getUint8(p + 13);
  m.window = d.getUint16(p + 14);
  m.payloadLen = l4len - doff;
  m.payloadOffset = p + doff;
  // Options are only located here: the flow engine never reads them, and parsing the
  // timestamps every Linux segment carries cost ~10 % of the per-packet time.
  if (doff > 20) {
    m.tcpOptOffset = p + 20;
    m.tcpOptEnd = Math.min(p + doff, end);
  }
  return Err.OK;
}

/**
 * The TCP options of the segment `decodeFrame` just put in `m` (same buffer, still valid) into
 * m.mss, m.wscale, m.sackPermitted, m.sackBlocks, m.tsVal and m.tsEcr (-1 / 0 when absent).
 */
export function decodeTcpOptions(m: PacketMeta, b: Uint8Array): void {
  m.mss = -1;
  m.wscale = -1;
  m.sackPermitted = 0;
  m.sackBlocks = 0;
  m.tsVal = -1;
  m.tsEcr = -1;
  let p = m.tcpOptOffset;
  const e = m.tcpOptEnd;
  while (p < e) {
    const kind = b[p]!;
    if (kind === 0) return;
    if (kind === 1) {
      p++;
      continue;
    }
    if (p + 1 >= e) return;
    const len = b[p + 1]!;
    if (len < 2 || p + len > e) return;
    if (kind === 2 && len === 4) m.mss = u16(b, p + 2);
    else if (kind === 3 && len === 3) m.wscale = b[p + 2]!;
    else if (kind === 4) m.sackPermitted = 1;
    else if (kind === 5) m.sackBlocks = (len - 2) >> 3;
    else if (kind === 8 && len === 10) {
      m.tsVal = u32(b, p + 2);
      m.tsEcr = u32(b, p + 6);
    }
    p += len;
  }
}

function decodeGre(m: PacketMeta, d: DataView, p: number, l4len: number, end: number): number {
  if (p + 4 > end) return Err.TRUNCATED;
  const flags = d.getUint16(p);
  const type = d.getUint16(p + 2);
  m.payloadLen = l4len;
  m.payloadOffset = p;
  // Version 1 is PPTP's enhanced GRE (PPP inside): not a tunnel we descend, a GRE flow.
  if ((flags & 7) !== 0) return Err.OK;
  let h = p + 4;
  if (flags & 0x8000) h += 4; // checksum + reserved
  let key = 0;
  if (flags & 0x2000) {
    if (h + 4 > end) return Err.TRUNCATED;
    key = d.getInt32(h);
    h += 4;
  }
  const hasSeq = (flags & 0x1000) !== 0;
  if (hasSeq) h += 4;
  switch (type) {
    case 0x0800: {
      const r = enterTunnel(m, TunnelType.gre, key);
      return r !== 0 ? r : decodeIpv4(m, d, h, end);
    }
    case 0x86dd: {
      const r = enterTunnel(m, TunnelType.gre, key);
      return r !== 0 ? r : decodeIpv6(m, d, h, end);
    }
    case 0x6558: {
      const r = enterTunnel(m, TunnelType.gre, key);
      return r !== 0 ? r : decodeEthernet(m, d, h, end);
    }
    case 0x88be: {
      // ERSPAN type I has no header and no sequence number; type II has both.
      if (!hasSeq) {
        const r = enterTunnel(m, TunnelType.erspan2, 0);
        return r !== 0 ? r : decodeEthernet(m, d, h, end);
      }
      if (h + 8 > end) return Err.TRUNCATED;
      const r = enterTunnel(m, TunnelType.erspan2, d.getUint16(h + 2) & 0x03ff);
      return r !== 0 ? r : decodeEthernet(m, d, h + 8, end);
    }
    case 0x22eb: {
      if (h + 12 > end) return Err.TRUNCATED;
      const r = enterTunnel(m, TunnelType.erspan3, d.getUint16(h + 2) & 0x03ff);
      if (r !== 0) return r;
      // O flag: an 8-byte platform-specific subheader follows.
      const sub = (d.getUint8(h + 11) & 1) !== 0 ? 8 : 0;
      return decodeEthernet(m, d, h + 12 + sub, end);
    }
    default:
      return Err.OK;
  }
}
