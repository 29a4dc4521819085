/**
 * Builds the copy a tool receives: outer IPv4 + (UDP + VXLAN | GRE | GRE + ERSPAN II/III)
 * around the captured frame, optionally with its tunnel headers stripped, truncated and
 * re-marked (VLAN id or DSCP), into one preallocated buffer reused for every packet.
 *
 * The output always starts with the outer IPv4 header at offset 0, so a sender can hand the
 * whole datagram to a raw IP socket, or the part after the outer header to a GRE raw socket,
 * or the part after IPv4+UDP (the VXLAN header onward) to a UDP socket, or write it to a pcap
 * with link type RAW for tshark.
 *
 * The inner frame must be Ethernet for VXLAN/ERSPAN/GRE-TEB: when the capture has no Ethernet
 * header (raw IP, Linux SLL, loopback) or a stripped tunnel carried bare IP, a 14-byte Ethernet
 * header is synthesized (MACs of the outer frame when there is one, else zero).
 */
import type { PacketMeta } from "../decode/packet-meta.ts";
import type { FrameLayout } from "./frame-layout.ts";

export const EncapKind = { vxlan: 1, gre: 2, erspan2: 3, erspan3: 4 } as const;

/** Encapsulation parameters compiled from a policy (numbers only, read per packet). */
export interface EncapParams {
  kind: number;
  /** VXLAN VNI. */
  vni: number;
  /** GRE key; -1 = no key field. */
  greKey: number;
  sessionId: number;
  erspanVlan: number;
  cos: number;
  hardwareId: number;
}

export interface CopyOptions {
  stripTunnel: boolean;
  /** Bytes of L4 payload kept; -1 = whole captured frame. */
  truncatePayload: number;
  /** New VLAN id for the copy (rewrite the first tag, or insert one); -1 = leave. */
  markVlan: number;
  /** New DSCP for the innermost IP header of the copy; -1 = leave. */
  markDscp: number;
}

export const OUTER_IPV4 = 20;
export const UDP_HEADER = 8;
export const VXLAN_HEADER = 8;
/** Largest copy: a 64 KiB frame plus every header we may add. */
export const MAX_COPY = 65535 + 128;

function w16(o: Uint8Array, p: number, v: number): void {
  o[p] = (v >>> 8) & 255;
  o[p + 1] = v & 255;
}
function w32(o: Uint8Array, p: number, v: number): void {
  o[p] = (v >>> 24) & 255;
  o[p + 1] = (v >>> 16) & 255;
  o[p + 2] = (v >>> 8) & 255;
  o[p + 3] = v & 255;
}

/** RFC 1071 checksum of b[p, p+len), 16-bit words, len even. */
export function ipChecksum(b: Uint8Array, p: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[p + i]! << 8) | b[p + i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function ipv4ToInt(a: string): number {
  const p = a.split(".").map(Number);
  return (p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]! | 0;
}

const bufferCopy = Buffer.prototype.copy;

/** b[from, to) → out[at]: a native memcpy without the view object `out.set(b.subarray())` allocates. */
function copyBytes(b: Uint8Array, from: number, to: number, out: Uint8Array, at: number): void {
  if (to - from < 128) {
    for (let i = from; i < to; i++) out[at++] = b[i]!;
  } else bufferCopy.call(b, out, at, from, to);
}

export class Encapsulator {
  readonly out = new Uint8Array(MAX_COPY);
  private ipId = 0;
  /** Set by `build`: true when the copy was shortened by truncatePayload. */
  truncated = false;

  constructor(private readonly srcAddr: number) {}

  /** Length of the outer headers for an encapsulation (where the frame starts in `out`). */
  static headerLen(e: EncapParams): number {
    switch (e.kind) {
      case EncapKind.vxlan:
        return OUTER_IPV4 + UDP_HEADER + VXLAN_HEADER;
      case EncapKind.gre:
        return OUTER_IPV4 + 4 + (e.greKey >= 0 ? 4 : 0);
      case EncapKind.erspan2:
        return OUTER_IPV4 + 8 + 8;
      default:
        return OUTER_IPV4 + 8 + 12;
    }
  }

  /**
   * Writes the encapsulated copy of b[off, off+capLen) into `out` and returns its length
   * (0 when the frame cannot be copied). `flowHash` feeds the VXLAN UDP source port (entropy
   * for ECMP, constant per flow); `seq` is the GRE sequence number for ERSPAN. `out` may be
   * another buffer (a sender's ring slot, so the copy is built where it is sent from): a copy
   * that does not fit returns 0.
   */
  build(
    e: EncapParams,
    dstAddr: number,
    o: CopyOptions,
    m: PacketMeta,
    L: FrameLayout,
    b: Uint8Array,
    off: number,
    capLen: number,
    tsMicros: number,
    flowHash: number,
    seq: number,
    out: Uint8Array = this.out,
  ): number {
    let end = off + capLen;
    this.truncated = false;
    if (o.truncatePayload >= 0 && m.payloadOffset > 0) {
      const cut = m.payloadOffset + o.truncatePayload;
      if (cut < end) {
        end = cut;
        this.truncated = true;
      }
    }
    // What to copy: [src, end), preceded by a synthesized Ethernet header when src is an IP header.
    let src: number;
    let vlanTag: number; // TPID offset of the first tag in the source frame, -1 = none
    let synthEth = false;
    let ipVersionForEth = 4;
    if (o.stripTunnel && L.tunnelled) {
      if (L.innerL2 >= 0) {
        src = L.innerL2;
        vlanTag = L.innerVlan;
      } else {
        src = L.innerL3;
        vlanTag = -1;
        synthEth = true;
        ipVersionForEth = L.innerL3Version;
      }
    } else if (L.outerL2 >= 0) {
      src = L.outerL2;
      vlanTag = L.outerVlan;
    } else {
      src = L.outerL3;
      vlanTag = -1;
      synthEth = true;
      ipVersionForEth = L.outerL3Version;
    }
    if (src < 0 || src >= end) return 0;

    const h = Encapsulator.headerLen(e);
    let p = h;
    const insertTag = o.markVlan >= 0 && vlanTag < 0;
    let shift = 0; // bytes the copied region moves beyond a straight copy after its first 12 bytes
    if (synthEth) {
      if (L.outerL2 >= 0) copyBytes(b, L.outerL2, L.outerL2 + 12, out, p);
      else out.fill(0, p, p + 12);
      p += 12;
      if (insertTag) {
        w16(out, p, 0x8100);
        w16(out, p + 2, o.markVlan);
        p += 4;
      }
      w16(out, p, ipVersionForEth === 6 ? 0x86dd : 0x0800);
      p += 2;
      if (p + (end - src) > out.length) return 0;
      copyBytes(b, src, end, out, p);
      shift = p - src;
      p += end - src;
    } else {
      if (p + (end - src) + 4 > out.length || end - src < 14) return 0;
      if (insertTag) {
        copyBytes(b, src, src + 12, out, p);
        w16(out, p + 12, 0x8100);
        w16(out, p + 14, o.markVlan);
        copyBytes(b, src + 12, end, out, p + 16);
        shift = p + 4 - src;
        p += end - src + 4;
      } else {
        copyBytes(b, src, end, out, p);
        shift = p - src;
        if (o.markVlan >= 0) {
          const t = vlanTag + shift + 2;
          out[t] = (out[t]! & 0xf0) | ((o.markVlan >>> 8) & 0x0f);
          out[t + 1] = o.markVlan & 255;
        }
        p += end - src;
      }
    }
    if (o.markDscp >= 0) this.remark(out, o.markDscp, L, src, shift, p);
    const len = p;

    // Outer IPv4.
    const id = (this.ipId + 1) & 0xffff;
    this.ipId = id;
    const proto = e.kind === EncapKind.vxlan ? 17 : 47;
    const srcA = this.srcAddr;
    w16(out, 0, 0x4500);
    w16(out, 2, len);
    w16(out, 4, id);
    w16(out, 6, 0x4000); // DF: a tool behind a smaller MTU drops rather than reassembles
    out[8] = 64;
    out[9] = proto;
    w32(out, 12, srcA);
    w32(out, 16, dstAddr);
    // The header checksum from the values just written (no second pass over the bytes).
    let sum = 0x4500 + len + id + 0x4000 + ((64 << 8) | proto);
    sum += (srcA >>> 16) + (srcA & 0xffff) + (dstAddr >>> 16) + (dstAddr & 0xffff);
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    w16(out, 10, ~sum & 0xffff);

    const q = OUTER_IPV4;
    switch (e.kind) {
      case EncapKind.vxlan:
        w16(out, q, 0xc000 | (flowHash & 0x3fff));
        w16(out, q + 2, 4789);
        w16(out, q + 4, len - q);
        w16(out, q + 6, 0); // zero UDP checksum is allowed over IPv4 (RFC 7348)
        w32(out, q + 8, 0x08000000);
        w32(out, q + 12, (e.vni & 0xffffff) << 8);
        break;
      case EncapKind.gre:
        w16(out, q, e.greKey >= 0 ? 0x2000 : 0);
        w16(out, q + 2, 0x6558);
        if (e.greKey >= 0) w32(out, q + 4, e.greKey);
        break;
      case EncapKind.erspan2:
        w16(out, q, 0x1000);
        w16(out, q + 2, 0x88be);
        w32(out, q + 4, seq);
        w16(out, q + 8, (1 << 12) | (e.erspanVlan & 0xfff));
        // cos(3) en(2) t(1) session(10); en=3 "VLAN tag preserved in frame"; t=1 if truncated
        w16(
          out,
          q + 10,
          ((e.cos & 7) << 13) | (3 << 11) | (this.truncated ? 1 << 10 : 0) | (e.sessionId & 0x3ff),
        );
        w32(out, q + 12, 0);
        break;
      default: {
        w16(out, q, 0x1000);
        w16(out, q + 2, 0x22eb);
        w32(out, q + 4, seq);
        w16(out, q + 8, (2 << 12) | (e.erspanVlan & 0xfff));
        w16(
          out,
          q + 10,
          ((e.cos & 7) << 13) | (3 << 11) | (this.truncated ? 1 << 10 : 0) | (e.sessionId & 0x3ff),
        );
        // Gra=01: timestamp in 100 ns units (low 32 bits of the capture time).
        w32(out, q + 12, Math.floor((tsMicros % 429496729.6) * 10) >>> 0);
        w16(out, q + 16, 0); // SGT
        // P(1)=0 FT(5)=0 (Ethernet) HWID(6) D(1)=0 Gra(2)=01 O(1)=0
        w16(out, q + 18, ((e.hardwareId & 63) << 4) | (1 << 1));
        break;
      }
    }
    return len;
  }

  /** Rewrites DSCP of the innermost IP header in the copy (and the IPv4 header checksum). */
  private remark(
    out: Uint8Array,
    dscp: number,
    L: FrameLayout,
    src: number,
    shift: number,
    end: number,
  ): void {
    const ipAt = L.innerL3;
    if (ipAt < src) return; // the IP header was stripped away (cannot happen) or absent
    const p = ipAt + shift;
    if (L.innerL3Version === 4) {
      const hl = (out[p]! & 15) * 4;
      if (p + hl > end) return;
      out[p + 1] = (dscp << 2) | (out[p + 1]! & 3);
      out[p + 10] = 0;
      out[p + 11] = 0;
      w16(out, p + 10, ipChecksum(out, p, hl));
    } else if (L.innerL3Version === 6) {
      if (p + 2 > end) return;
      // Traffic class straddles bytes 0-1: vvvv TTTT | TTTT ffff, DSCP = top 6 bits of T.
      const tc = ((dscp << 2) | ((out[p + 1]! >> 4) & 0x0f & 3)) & 0xff;
      out[p] = (out[p]! & 0xf0) | (tc >> 4);
      out[p + 1] = ((tc & 0x0f) << 4) | (out[p + 1]! & 0x0f);
    }
  }
}
