/**
 * Open-addressing flow table over preallocated typed arrays (struct of arrays).
 *
 * - Flow slots 0..capacity-1 hold the key (IP version, protocol, endpoint A = source of the
 *   first packet, endpoint B) and whatever per-flow arrays the engine keeps alongside; slots are
 *   recycled through a free stack, so after warm-up nothing is allocated.
 * - The index is a power-of-two Int32Array (≥ 2× capacity, load ≤ 0.5) of slot+1 with linear
 *   probing and backward-shift deletion (no tombstones, so probe chains stay short under churn).
 * - The hash is symmetric (A→B and B→A hash alike), so both directions find the same slot and
 *   worker sharding by the same hash keeps a flow on one worker.
 * - Expiry: one doubly linked LRU list per timeout class. Within a class every flow has the same
 *   timeout, so the head is always the next to expire and expiry costs O(expired flows).
 */
import type { PacketMeta } from "../decode/packet-meta.ts";

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function endpointHash(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = Math.imul(w0 | 0, 0x9e3779b1);
  h = Math.imul(h ^ (w1 | 0), 0x85ebca77);
  h = Math.imul(h ^ (w2 | 0), 0xc2b2ae3d);
  h = Math.imul(h ^ (w3 | 0), 0x27d4eb2f);
  return fmix32(h ^ (port * 0x10001));
}

/** Symmetric 5-tuple hash of the innermost headers in `m` (int32). */
export function flowHash(m: PacketMeta): number {
  const a = endpointHash(m.src0, m.src1, m.src2, m.src3, m.srcPort);
  const b = endpointHash(m.dst0, m.dst1, m.dst2, m.dst3, m.dstPort);
  return fmix32((a + b) ^ (m.proto << 8) ^ m.ipVersion);
}

export class FlowTable {
  readonly capacity: number;
  readonly mask: number;
  readonly index: Int32Array;
  readonly hash: Int32Array;
  readonly slotOf: Int32Array;
  readonly ver: Uint8Array;
  readonly proto: Uint8Array;
  readonly a0: Uint32Array;
  readonly a1: Uint32Array;
  readonly a2: Uint32Array;
  readonly a3: Uint32Array;
  readonly b0: Uint32Array;
  readonly b1: Uint32Array;
  readonly b2: Uint32Array;
  readonly b3: Uint32Array;
  readonly pa: Uint16Array;
  readonly pb: Uint16Array;
  readonly used: Uint8Array;
  readonly lastSeen: Float64Array;
  readonly lruPrev: Int32Array;
  readonly lruNext: Int32Array;
  readonly lruClass: Uint8Array;
  readonly lruHead: Int32Array;
  readonly lruTail: Int32Array;
  private readonly freeStack: Int32Array;
  private freeTop: number;
  count = 0;
  /** Direction of the last lookup hit: 0 = packet source is endpoint A. */
  dir = 0;

  constructor(capacity: number, classes: number) {
    this.capacity = capacity;
    let size = 1024;
    while (size < capacity * 2) size *= 2;
    this.mask = size - 1;
    this.index = new Int32Array(size);
    this.hash = new Int32Array(capacity);
    this.slotOf = new Int32Array(capacity);
    this.ver = new Uint8Array(capacity);
    this.proto = new Uint8Array(capacity);
    this.a0 = new Uint32Array(capacity);
    this.a1 = new Uint32Array(capacity);
    this.a2 = new Uint32Array(capacity);
    this.a3 = new Uint32Array(capacity);
    this.b0 = new Uint32Array(capacity);
    this.b1 = new Uint32Array(capacity);
    this.b2 = new Uint32Array(capacity);
    this.b3 = new Uint32Array(capacity);
    this.pa = new Uint16Array(capacity);
    this.pb = new Uint16Array(capacity);
    this.used = new Uint8Array(capacity);
    this.lastSeen = new Float64Array(capacity);
    this.lruPrev = new Int32Array(capacity);
    this.lruNext = new Int32Array(capacity);
    this.lruClass = new Uint8Array(capacity);
    this.lruHead = new Int32Array(classes).fill(-1);
    this.lruTail = new Int32Array(classes).fill(-1);
    this.freeStack = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.freeStack[i] = capacity - 1 - i;
    this.freeTop = capacity;
  }

  get full(): boolean {
    return this.freeTop === 0;
  }

  /** Slot of the flow matching `m` (either direction) or -1; sets `dir`. */
  lookup(m: PacketMeta, h: number): number {
    const mask = this.mask;
    const index = this.index;
    let i = h & mask;
    for (;;) {
      const e = index[i]!;
      if (e === 0) return -1;
      const f = e - 1;
      if (this.hash[f] === h && this.proto[f] === m.proto && this.ver[f] === m.ipVersion) {
        if (
          this.pa[f] === m.srcPort &&
          this.pb[f] === m.dstPort &&
          this.a0[f] === m.src0 &&
          this.b0[f] === m.dst0 &&
          this.a1[f] === m.src1 &&
          this.a2[f] === m.src2 &&
          this.a3[f] === m.src3 &&
          this.b1[f] === m.dst1 &&
          this.b2[f] === m.dst2 &&
          this.b3[f] === m.dst3
        ) {
          this.dir = 0;
          return f;
        }
        if (
          this.pa[f] === m.dstPort &&
          this.pb[f] === m.srcPort &&
          this.a0[f] === m.dst0 &&
          this.b0[f] === m.src0 &&
          this.a1[f] === m.dst1 &&
          this.a2[f] === m.dst2 &&
          this.a3[f] === m.dst3 &&
          this.b1[f] === m.src1 &&
          this.b2[f] === m.src2 &&
          this.b3[f] === m.src3
        ) {
          this.dir = 1;
          return f;
        }
      }
      i = (i + 1) & mask;
    }
  }

  /** Inserts the flow of `m` (A = packet source). Caller guarantees a free slot. */
  insert(m: PacketMeta, h: number): number {
    const f = this.freeStack[--this.freeTop]!;
    this.used[f] = 1;
    this.hash[f] = h;
    this.ver[f] = m.ipVersion;
    this.proto[f] = m.proto;
    this.a0[f] = m.src0;
    this.a1[f] = m.src1;
    this.a2[f] = m.src2;
    this.a3[f] = m.src3;
    this.b0[f] = m.dst0;
    this.b1[f] = m.dst1;
    this.b2[f] = m.dst2;
    this.b3[f] = m.dst3;
    this.pa[f] = m.srcPort;
    this.pb[f] = m.dstPort;
    let i = h & this.mask;
    while (this.index[i] !== 0) i = (i + 1) & this.mask;
    this.index[i] = f + 1;
    this.slotOf[f] = i;
    this.lruClass[f] = 255;
    this.count++;
    return f;
  }

  remove(f: number): void {
    this.unlink(f);
    this.used[f] = 0;
    const mask = this.mask;
    const index = this.index;
    let i = this.slotOf[f]!;
    index[i] = 0;
    // Backward-shift deletion keeps every remaining entry reachable from its home bucket.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = index[j]!;
      if (e === 0) break;
      const k = this.hash[e - 1]! & mask;
      const movable = i <= j ? k <= i || k > j : k <= i && k > j;
      if (movable) {
        index[i] = e;
        this.slotOf[e - 1] = i;
        index[j] = 0;
        i = j;
      }
    }
    this.freeStack[this.freeTop++] = f;
    this.count--;
  }

  /** Marks activity: moves `f` to the tail of class `cls`. */
  touch(f: number, cls: number, now: number): void {
    this.lastSeen[f] = now;
    if (this.lruClass[f] === cls && this.lruTail[cls] === f) return;
    this.unlink(f);
    const t = this.lruTail[cls]!;
    this.lruPrev[f] = t;
    this.lruNext[f] = -1;
    if (t >= 0) this.lruNext[t] = f;
    else this.lruHead[cls] = f;
    this.lruTail[cls] = f;
    this.lruClass[f] = cls;
  }

  private unlink(f: number): void {
    const c = this.lruClass[f]!;
    if (c === 255) return;
    const p = this.lruPrev[f]!;
    const n = this.lruNext[f]!;
    if (p >= 0) this.lruNext[p] = n;
    else this.lruHead[c] = n;
    if (n >= 0) this.lruPrev[n] = p;
    else this.lruTail[c] = p;
    this.lruClass[f] = 255;
  }
}
