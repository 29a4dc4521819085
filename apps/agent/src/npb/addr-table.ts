/**
 * Address → value lookup for IPv4 and IPv6 CIDR sets, built once and read per packet.
 *
 * Prefixes are "painted" at compile time into sorted, disjoint intervals (shorter prefixes
 * first, so the longest prefix wins where they nest), then a lookup is a binary search over
 * typed arrays: no hashing of 128-bit keys, no allocation, and the same code answers "is this
 * address in the policy's client CIDRs" (value 1) and "which agent is designated for this
 * address" (value = agent index).
 *
 * Addresses arrive as the decoder's four signed int32 words (IPv4 in word 0), so they are
 * compared unsigned (`>>> 0`).
 */
import { isIPv4, isIPv6 } from "node:net";

export interface ParsedCidr {
  version: 4 | 6;
  /** First address as an unsigned integer (32 or 128 bits). */
  base: bigint;
  bits: number;
}

function parseV4(s: string): bigint | undefined {
  if (!isIPv4(s)) return undefined;
  let v = 0n;
  for (const part of s.split(".")) v = (v << 8n) | BigInt(Number(part));
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (!isIPv6(s)) return undefined;
  let text = s;
  // Embedded dotted quad (::ffff:10.0.0.1) becomes two hex groups.
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseV4(tail);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split("::");
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(":") : [];
  const fill = 8 - head.length - rest.length;
  const groups = halves.length > 1 ? [...head, ...Array<string>(fill).fill("0"), ...rest] : head;
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  return v;
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128). Throws on garbage. */
export function parseCidr(text: string): ParsedCidr {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v4 = parseV4(addr);
  const v6 = v4 === undefined ? parseV6(addr) : undefined;
  if (v4 === undefined && v6 === undefined) throw new Error(`not an IPv4 or IPv6 address: "${addr}"`);
  const version = v4 !== undefined ? 4 : 6;
  const width = version === 4 ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > width) throw new Error(`prefix length must be 0-${width}`);
    bits = Number(p);
  }
  const base = (v4 ?? v6) as bigint;
  const hostMask = (1n << BigInt(width - bits)) - 1n;
  if ((base & hostMask) !== 0n) {
    const fixed = base & ~hostMask;
    throw new Error(`host bits set; did you mean ${formatAddr(version, fixed)}/${bits}?`);
  }
  return { version, base, bits };
}

function formatAddr(version: 4 | 6, v: bigint): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join(".");
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((v >> s) & 0xffffn).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

interface Interval {
  lo: bigint;
  hi: bigint;
  value: number;
}

/** Paints [lo, hi] = value over a sorted disjoint list (later paints win). Compile time only. */
function paint(list: Interval[], lo: bigint, hi: bigint, value: number): Interval[] {
  const out: Interval[] = [];
  for (const iv of list) {
    if (iv.hi < lo || iv.lo > hi) {
      out.push(iv);
      continue;
    }
    if (iv.lo < lo) out.push({ lo: iv.lo, hi: lo - 1n, value: iv.value });
    if (iv.hi > hi) out.push({ lo: hi + 1n, hi: iv.hi, value: iv.value });
  }
  out.push({ lo, hi, value });
  out.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  return out;
}

export class AddrTable {
  private v4lo: Uint32Array;
  private v4hi: Uint32Array;
  private v4val: Int32Array;
  private v6lo: Uint32Array;
  private v6hi: Uint32Array;
  private v6val: Int32Array;
  /** Number of prefixes per family; 0 lets a matcher skip the family test entirely. */
  readonly v4count: number;
  readonly v6count: number;

  constructor(entries: { cidr: ParsedCidr; value: number }[]) {
    let l4: Interval[] = [];
    let l6: Interval[] = [];
    const sorted = [...entries].sort((a, b) => a.cidr.bits - b.cidr.bits);
    for (const { cidr, value } of sorted) {
      const width = cidr.version === 4 ? 32 : 128;
      const hi = cidr.base | ((1n << BigInt(width - cidr.bits)) - 1n);
      if (cidr.version === 4) l4 = paint(l4, cidr.base, hi, value);
      else l6 = paint(l6, cidr.base, hi, value);
    }
    this.v4count = entries.filter((e) => e.cidr.version === 4).length;
    this.v6count = entries.length - this.v4count;
    this.v4lo = Uint32Array.from(l4, (i) => Number(i.lo));
    this.v4hi = Uint32Array.from(l4, (i) => Number(i.hi));
    this.v4val = Int32Array.from(l4, (i) => i.value);
    this.v6lo = new Uint32Array(l6.length * 4);
    this.v6hi = new Uint32Array(l6.length * 4);
    this.v6val = Int32Array.from(l6, (i) => i.value);
    l6.forEach((iv, k) => {
      for (let w = 0; w < 4; w++) {
        const shift = BigInt(96 - 32 * w);
        this.v6lo[k * 4 + w] = Number((iv.lo >> shift) & 0xffffffffn);
        this.v6hi[k * 4 + w] = Number((iv.hi >> shift) & 0xffffffffn);
      }
    });
  }

  /** Value of the longest prefix holding the IPv4 address `a` (signed or unsigned), or -1. */
  lookup4(a: number): number {
    const key = a >>> 0;
    const lo = this.v4lo;
    let l = 0;
    let h = lo.length - 1;
    let found = -1;
    while (l <= h) {
      const mid = (l + h) >> 1;
      if (lo[mid]! <= key) {
        found = mid;
        l = mid + 1;
      } else h = mid - 1;
    }
    if (found < 0 || key > this.v4hi[found]!) return -1;
    return this.v4val[found]!;
  }

  lookup6(a0: number, a1: number, a2: number, a3: number): number {
    const lo = this.v6lo;
    let l = 0;
    let h = this.v6val.length - 1;
    let found = -1;
    while (l <= h) {
      const mid = (l + h) >> 1;
      if (cmp6(lo, mid * 4, a0, a1, a2, a3) <= 0) {
        found = mid;
        l = mid + 1;
      } else h = mid - 1;
    }
    if (found < 0 || cmp6(this.v6hi, found * 4, a0, a1, a2, a3) < 0) return -1;
    return this.v6val[found]!;
  }

  lookup(version: number, a0: number, a1: number, a2: number, a3: number): number {
    if (version === 4) return this.v4count === 0 ? -1 : this.lookup4(a0);
    if (version === 6) return this.v6count === 0 ? -1 : this.lookup6(a0, a1, a2, a3);
    return -1;
  }
}

/** Compares the stored word quad at t[i..i+3] with the address; <0 when stored is smaller. */
function cmp6(t: Uint32Array, i: number, a0: number, a1: number, a2: number, a3: number): number {
  let d = t[i]! - (a0 >>> 0);
  if (d !== 0) return d;
  d = t[i + 1]! - (a1 >>> 0);
  if (d !== 0) return d;
  d = t[i + 2]! - (a2 >>> 0);
  if (d !== 0) return d;
  return t[i + 3]! - (a3 >>> 0);
}
