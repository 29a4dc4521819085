/**
 * Where things are in a captured frame, for the broker's copy: the decoder's PacketMeta holds
 * the innermost addresses and the payload offset, but not where the inner Ethernet frame of a
 * tunnel starts or where the IP header to re-mark sits. This walker follows the same path as
 * `decode/packet.ts` (Ethernet → VLAN/MPLS → IP → VXLAN/Geneve/GRE/ERSPAN/IP-in-IP) recording
 * offsets only, into one reused FrameLayout. It is run only for packets a policy matched.
 */
import type { PacketMeta } from "../decode/packet-meta.ts";

export class FrameLayout {
  /** Start of the Ethernet header of the captured frame, -1 for link types without one. */
  outerL2 = -1;
  /** First 802.1Q/802.1ad tag of the outer Ethernet header (its TPID), -1 = untagged. */
  outerVlan = -1;
  /** First IP header in the frame. */
  outerL3 = -1;
  outerL3Version = 0;
  /** Ethernet frame carried by the (innermost) tunnel, -1 when the tunnel carries IP. */
  innerL2 = -1;
  innerVlan = -1;
  /** Innermost IP header and its version. */
  innerL3 = -1;
  innerL3Version = 0;
  /** 1 once a tunnel header was crossed. */
  tunnelled = 0;

  reset(): void {
    this.outerL2 = this.outerVlan = this.outerL3 = this.innerL2 = this.innerVlan = this.innerL3 = -1;
    this.outerL3Version = this.innerL3Version = this.tunnelled = 0;
  }
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

const MAX_DEPTH = 8;

/** Fills `L` for the frame at b[off, off+capLen). Returns false when no IP header was found. */
export function locateFrame(
  L: FrameLayout,
  m: PacketMeta,
  linkType: number,
  b: Uint8Array,
  off: number,
  capLen: number,
): boolean {
  const end = off + capLen;
  // The common case, without the walk: untagged Ethernet, IPv4 or IPv6 carrying TCP straight
  // away (no tunnel can follow); the same layout as the walk finds for it.
  if (linkType === 1 && off + 34 <= end) {
    const type = (b[off + 12]! << 8) | b[off + 13]!;
    const v = b[off + 14]! >> 4;
    if (
      (type === 0x0800 && v === 4 && b[off + 23] === 6) ||
      (type === 0x86dd && v === 6 && b[off + 20] === 6)
    ) {
      L.outerL2 = off;
      L.outerVlan = L.innerL2 = L.innerVlan = -1;
      L.outerL3 = L.innerL3 = off + 14;
      L.outerL3Version = L.innerL3Version = v;
      L.tunnelled = 0;
      return true;
    }
  }
  return walkFrame(L, m, linkType, b, off, capLen);
}

/** `locateFrame` without its shortcut (the full walk; tests check both agree). */
export function walkFrame(
  L: FrameLayout,
  m: PacketMeta,
  linkType: number,
  b: Uint8Array,
  off: number,
  capLen: number,
): boolean {
  const end = off + capLen;
  L.reset();
  switch (linkType) {
    case 1:
      return ethernet(L, m, b, off, end, 0);
    case 101:
    case 12:
    case 14:
    case 228:
    case 229:
      return ip(L, m, b, off, end, 0);
    case 113:
      return off + 16 <= end && etherType(L, m, u16(b, off + 14), b, off + 16, end, 0);
    case 276:
      return off + 20 <= end && etherType(L, m, u16(b, off), b, off + 20, end, 0);
    case 0:
    case 108:
      return ip(L, m, b, off + 4, end, 0);
    default:
      return false;
  }
}

function ethernet(
  L: FrameLayout,
  m: PacketMeta,
  b: Uint8Array,
  o: number,
  end: number,
  depth: number,
): boolean {
  if (o + 14 > end) return false;
  if (depth === 0) L.outerL2 = o;
  else L.innerL2 = o;
  if (depth > 0) L.innerVlan = -1;
  return etherType(L, m, u16(b, o + 12), b, o + 14, end, depth);
}

function etherType(
  L: FrameLayout,
  m: PacketMeta,
  type: number,
  b: Uint8Array,
  o: number,
  end: number,
  depth: number,
): boolean {
  let first = true;
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (o + 4 > end) return false;
    if (first) {
      if (depth === 0) L.outerVlan = o - 2;
      else L.innerVlan = o - 2;
      first = false;
    }
    type = u16(b, o + 2);
    o += 4;
  }
  if (type === 0x0800 || type === 0x86dd) return ip(L, m, b, o, end, depth);
  if (type === 0x8847 || type === 0x8848) {
    for (let i = 0; i < 17; i++) {
      if (o + 4 > end) return false;
      const bos = b[o + 2]! & 1;
      o += 4;
      if (bos) break;
    }
    if (o >= end) return false;
    const nib = b[o]! >> 4;
    if (nib === 4 || nib === 6) return ip(L, m, b, o, end, depth);
    if (nib === 0) return ethernet(L, m, b, o + 4, end, depth);
  }
  return false;
}

function ip(L: FrameLayout, m: PacketMeta, b: Uint8Array, o: number, end: number, depth: number): boolean {
  if (o >= end) return false;
  const v = b[o]! >> 4;
  if (L.outerL3 < 0) {
    L.outerL3 = o;
    L.outerL3Version = v;
  }
  L.innerL3 = o;
  L.innerL3Version = v;
  if (depth >= MAX_DEPTH) return true;
  let proto: number;
  let p: number;
  if (v === 4) {
    if (o + 20 > end) return true;
    if ((u16(b, o + 6) & 0x1fff) !== 0) return true; // later fragment: no inner headers here
    proto = b[o + 9]!;
    p = o + (b[o]! & 15) * 4;
  } else if (v === 6) {
    if (o + 40 > end) return true;
    proto = b[o + 6]!;
    p = o + 40;
    // Extension headers, as the decoder walks them (fragments: first fragment only).
    for (let i = 0; i < 16; i++) {
      if (proto === 0 || proto === 43 || proto === 60) {
        if (p + 2 > end) return true;
        const len = (b[p + 1]! + 1) * 8;
        proto = b[p]!;
        p += len;
      } else if (proto === 51) {
        if (p + 2 > end) return true;
        const len = (b[p + 1]! + 2) * 4;
        proto = b[p]!;
        p += len;
      } else if (proto === 44) {
        if (p + 8 > end || u16(b, p + 2) >> 3 !== 0) return true;
        proto = b[p]!;
        p += 8;
      } else break;
    }
  } else return false;
  return tunnel(L, m, proto, b, p, end, depth);
}

function tunnel(
  L: FrameLayout,
  m: PacketMeta,
  proto: number,
  b: Uint8Array,
  p: number,
  end: number,
  depth: number,
): boolean {
  if (proto === 4 || proto === 41) {
    L.tunnelled = 1;
    L.innerL2 = -1;
    return ip(L, m, b, p, end, depth + 1);
  }
  if (proto === 17) {
    if (p + 16 > end) return true;
    const dp = u16(b, p + 2);
    const q = p + 8;
    if (dp === m.vxlanPort && (b[q]! & 0x08) !== 0) {
      L.tunnelled = 1;
      return ethernet(L, m, b, q + 8, end, depth + 1);
    }
    if (dp === m.genevePort && b[q]! >> 6 === 0) {
      const inner = q + 8 + (b[q]! & 0x3f) * 4;
      const type = u16(b, q + 2);
      L.tunnelled = 1;
      if (type === 0x6558) return ethernet(L, m, b, inner, end, depth + 1);
      L.innerL2 = -1;
      return etherType(L, m, type, b, inner, end, depth + 1);
    }
    return true;
  }
  if (proto !== 47 || p + 4 > end) return true;
  const flags = u16(b, p);
  const type = u16(b, p + 2);
  if ((flags & 7) !== 0) return true;
  let h = p + 4;
  if (flags & 0x8000) h += 4;
  if (flags & 0x2000) h += 4;
  const hasSeq = (flags & 0x1000) !== 0;
  if (hasSeq) h += 4;
  switch (type) {
    case 0x0800:
    case 0x86dd:
      L.tunnelled = 1;
      L.innerL2 = -1;
      return ip(L, m, b, h, end, depth + 1);
    case 0x6558:
      L.tunnelled = 1;
      return ethernet(L, m, b, h, end, depth + 1);
    case 0x88be:
      L.tunnelled = 1;
      return ethernet(L, m, b, hasSeq ? h + 8 : h, end, depth + 1);
    case 0x22eb: {
      if (h + 12 > end) return true;
      L.tunnelled = 1;
      return ethernet(L, m, b, h + 12 + ((b[h + 11]! & 1) !== 0 ? 8 : 0), end, depth + 1);
    }
    default:
      return true;
  }
}
