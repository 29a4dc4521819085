/**
 * Open-addressing flow table over preallocated typed arrays (struct of arrays).
 *
 * - Flow slots 0..capacity-1 hold the key (IP version, protocol, endpoint A = source of the
 *   first packet, endpoint B) and whatever per-flow arrays the engine keeps alongside; slots are
 *   recycled through a free stack, so after warm-up nothing is allocated. The arrays start at
 *   32 k slots and double (with the engine's, see `needsRoom`) up to the capacity.
 * - The index is a power-of-two Int32Array (≥ 2× allocated slots, load ≤ 0.5) of slot+1 with linear
 *   probing and backward-shift deletion (no tombstones, so probe chains stay short under churn).
 * - The hash is symmetric (A→B and B→A hash alike), so both directions find the same slot and
 *   worker sharding by the same hash keeps a flow on one worker.
 * - Expiry: one doubly linked LRU list per timeout class. Within a class every flow has the same
 *   timeout, so the head is always the next to expire and expiry costs O(expired flows).
 */
import type { PacketMeta } from "../decode/packet-meta.ts";

/**
 * Symmetric 5-tuple hash of the innermost headers in `m` (int32): each endpoint's address
 * (IPv6 words folded by XOR) and port go through one multiply and one xor-shift, the endpoints
 * are added (so A→B and B→A hash alike), then one avalanche step spreads the high bits into the
 * low bits the index and the shard use. 6 multiplies instead of the 14 of a full hash per
 * endpoint; probe lengths measured the same on loopback ports, sequential hosts and random keys
 * (the xor-shift matters: without it flows to 8 local servers probed 3× longer).
 */
export function flowHash(m: PacketMeta): number {
  let a = Math.imul(m.src0 ^ m.src1 ^ m.src2 ^ m.src3 ^ Math.imul(m.srcPort, 0x9e3779b1), 0x85ebca77);
  a ^= a >>> 15;
  let b = Math.imul(m.dst0 ^ m.dst1 ^ m.dst2 ^ m.dst3 ^ Math.imul(m.dstPort, 0x9e3779b1), 0x85ebca77);
  b ^= b >>> 15;
  let h = (a + b) ^ (m.proto << 8) ^ m.ipVersion;
  h = Math.imul(h, 0xc2b2ae3d);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  return h ^ (h >>> 16);
}

/** Int32 words per flow key: hash, ver<<8|proto, pa<<16|pb, a0..a3, b0..b3, spare. */
const KS = 12;
/** KS as a same-file enum member, which esbuild writes as a literal (a module constant is loaded at run time). */
enum Key {
  STRIDE = 12,
}
if (Key.STRIDE !== KS) throw new Error("flow-table: Key.STRIDE !== KS");

/** Slots allocated at first; the arrays double as flows arrive, up to the capacity. */
const INITIAL_SLOTS = 1 << 15;

export class FlowTable {
  /** Most flows at once (maxFlows). */
  readonly capacity: number;
  /** Slots the arrays hold now (≤ capacity). */
  allocated = 0;
  mask = 0;
  /** Pairs (hash, slot + 1): a probe rejects most entries without touching flow memory. */
  index: Int32Array = new Int32Array(0);
  /** Packed keys, KS words per flow: one or two cache lines per comparison. */
  keys: Int32Array = new Int32Array(0);
  slotOf: Int32Array = new Int32Array(0);
  used: Uint8Array = new Uint8Array(0);
  lastSeen: Float64Array = new Float64Array(0);
  lruPrev: Int32Array = new Int32Array(0);
  lruNext: Int32Array = new Int32Array(0);
  lruClass: Uint8Array = new Uint8Array(0);
  readonly lruHead: Int32Array;
  readonly lruTail: Int32Array;
  private freeStack: Int32Array = new Int32Array(0);
  private freeTop: number;
  /** Slots below this have been used at some point; none above it is. */
  highWater = 0;
  count = 0;
  /** Direction of the last lookup hit: 0 = packet source is endpoint A. */
  dir = 0;

  constructor(capacity: number, classes: number) {
    this.capacity = capacity;
    this.lruHead = new Int32Array(classes).fill(-1);
    this.lruTail = new Int32Array(classes).fill(-1);
    // Never-used slots come from a high-water mark (no O(capacity) fill at start); freed slots
    // are reused first, lowest-numbered first as before.
    this.freeTop = 0;
    this.resize(Math.min(capacity, INITIAL_SLOTS));
  }

  get full(): boolean {
    return this.freeTop === 0 && this.highWater === this.capacity;
  }

  /** Every allocated slot is in use but the capacity allows more: time to `resize`. */
  get needsRoom(): boolean {
    return this.freeTop === 0 && this.highWater === this.allocated && this.allocated < this.capacity;
  }

  /** Arrays for n slots (n ≥ allocated), contents kept; the index is rebuilt when it grows. */
  resize(n: number): void {
    const grow = <T extends Int32Array | Uint8Array | Float64Array>(old: T, fresh: T): T => {
      (fresh as Int32Array).set(old as Int32Array);
      return fresh;
    };
    this.keys = grow(this.keys, new Int32Array(n * KS));
    this.slotOf = grow(this.slotOf, new Int32Array(n));
    this.used = grow(this.used, new Uint8Array(n));
    this.lastSeen = grow(this.lastSeen, new Float64Array(n));
    this.lruPrev = grow(this.lruPrev, new Int32Array(n));
    this.lruNext = grow(this.lruNext, new Int32Array(n));
    this.lruClass = grow(this.lruClass, new Uint8Array(n));
    this.freeStack = grow(this.freeStack, new Int32Array(n));
    this.allocated = n;
    let size = 1024;
    while (size < n * 2) size *= 2;
    if (size - 1 === this.mask) return;
    // Load stays ≤ 0.5: re-insert every entry (hash, slot) into the bigger index.
    const old = this.index;
    const index = new Int32Array(size * 2);
    const mask = size - 1;
    for (let j = 0; j < old.length; j += 2) {
      const e = old[j + 1]!;
      if (e === 0) continue;
      let i = old[j]! & mask;
      while (index[i * 2 + 1] !== 0) i = (i + 1) & mask;
      index[i * 2] = old[j]!;
      index[i * 2 + 1] = e;
      this.slotOf[e - 1] = i;
    }
    this.index = index;
    this.mask = mask;
  }

  ver(f: number): number {
    return (this.keys[f * KS + 1]! >>> 8) & 0xff;
  }
  proto(f: number): number {
    return this.keys[f * KS + 1]! & 0xff;
  }
  /** Port of endpoint A (first packet's source). */
  pa(f: number): number {
    return this.keys[f * KS + 2]! >>> 16;
  }
  pb(f: number): number {
    return this.keys[f * KS + 2]! & 0xffff;
  }
  /** Word i (0-3) of endpoint A's address, unsigned. */
  a(f: number, i: number): number {
    return this.keys[f * KS + 3 + i]! >>> 0;
  }
  b(f: number, i: number): number {
    return this.keys[f * KS + 7 + i]! >>> 0;
  }

  /** Slot of the flow matching `m` (either direction) or -1; sets `dir`. */
  lookup(m: PacketMeta, h: number): number {
    const mask = this.mask;
    const index = this.index;
    const keys = this.keys;
    // One step back, so that the step below runs on every lookup: a probe path first taken
    // after V8 optimized this function would deoptimize it (no type feedback).
    let i = (h - 1) & mask;
    const vp = (m.ipVersion << 8) | m.proto;
    for (;;) {
      i = (i + 1) & mask;
      const e = index[i * 2 + 1]!;
      if (e === 0) return -1;
      if (index[i * 2] === h) {
        const f = e - 1;
        const k = f * Key.STRIDE;
        if (keys[k + 1] === vp) {
          // IPv4 keys and packets both hold zeros in words 1-3: only IPv6 compares them.
          const v6 = vp >= 0x600;
          const ports = keys[k + 2]!;
          if (
            ports === ((m.srcPort << 16) | m.dstPort) &&
            keys[k + 3] === (m.src0 | 0) &&
            keys[k + 7] === (m.dst0 | 0) &&
            (!v6 ||
              (keys[k + 4] === (m.src1 | 0) &&
                keys[k + 5] === (m.src2 | 0) &&
                keys[k + 6] === (m.src3 | 0) &&
                keys[k + 8] === (m.dst1 | 0) &&
                keys[k + 9] === (m.dst2 | 0) &&
                keys[k + 10] === (m.dst3 | 0)))
          ) {
            this.dir = 0;
            return f;
          }
          if (
            ports === ((m.dstPort << 16) | m.srcPort) &&
            keys[k + 3] === (m.dst0 | 0) &&
            keys[k + 7] === (m.src0 | 0) &&
            (!v6 ||
              (keys[k + 4] === (m.dst1 | 0) &&
                keys[k + 5] === (m.dst2 | 0) &&
                keys[k + 6] === (m.dst3 | 0) &&
                keys[k + 8] === (m.src1 | 0) &&
                keys[k + 9] === (m.src2 | 0) &&
                keys[k + 10] === (m.src3 | 0)))
          ) {
            this.dir = 1;
            return f;
          }
        }
      }
    }
  }

  /** Inserts the flow of `m` (A = packet source). Caller guarantees a free slot. */
  insert(m: PacketMeta, h: number): number {
    const f = this.freeTop > 0 ? this.freeStack[--this.freeTop]! : this.highWater++;
    this.used[f] = 1;
    const keys = this.keys;
    const k = f * KS;
    keys[k] = h;
    keys[k + 1] = (m.ipVersion << 8) | m.proto;
    keys[k + 2] = (m.srcPort << 16) | m.dstPort;
    keys[k + 3] = m.src0;
    keys[k + 4] = m.src1;
    keys[k + 5] = m.src2;
    keys[k + 6] = m.src3;
    keys[k + 7] = m.dst0;
    keys[k + 8] = m.dst1;
    keys[k + 9] = m.dst2;
    keys[k + 10] = m.dst3;
    let i = h & this.mask;
    while (this.index[i * 2 + 1] !== 0) i = (i + 1) & this.mask;
    this.index[i * 2] = h;
    this.index[i * 2 + 1] = f + 1;
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
    index[i * 2 + 1] = 0;
    // Backward-shift deletion keeps every remaining entry reachable from its home bucket.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = index[j * 2 + 1]!;
      if (e === 0) break;
      const k = index[j * 2]! & mask;
      const movable = i <= j ? k <= i || k > j : k <= i && k > j;
      if (movable) {
        index[i * 2] = index[j * 2]!;
        index[i * 2 + 1] = e;
        this.slotOf[e - 1] = i;
        index[j * 2 + 1] = 0;
        i = j;
      }
    }
    this.freeStack[this.freeTop++] = f;
    this.count--;
  }

  /** Packet time (µs), set by the engine: a double field instead of a boxed argument. */
  now = 0;

  /** Marks activity at `now`: moves `f` to the tail of class `cls`. */
  touch(f: number, cls: number): void {
    this.lastSeen[f] = this.now;
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
