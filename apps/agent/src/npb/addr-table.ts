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
import type { ParsedCidr } from "@flowplane/protocol";

// One CIDR parser for policies, the designated map and the console's validation.
export { type ParsedCidr, parseCidr } from "@flowplane/protocol";

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
