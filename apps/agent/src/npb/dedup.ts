/**
 * Deduplication, two rules (written down with their limits in docs/packet-broker.md):
 *
 * 1. Across agents, with no central hop: the controller hands every agent the same map of
 *    designated capture points (agent → host addresses). A packet is designated to the agent
 *    holding its SOURCE address, else the one holding its DESTINATION address; an agent
 *    forwards only packets designated to itself, or designated to nobody (then every agent
 *    that sees it forwards: the map does not know the hosts).
 * 2. Within one agent: the same packet seen on several interfaces (veth + bridge + uplink,
 *    a SPAN port seeing both directions) is dropped when a hash of its invariant header
 *    fields was seen within a short window. TTL, checksums, VLAN tags and outer tunnel
 *    headers change between capture points and are left out of the hash.
 */
import { type DesignatedMap, parseCidr } from "@flowplane/protocol";
import type { PacketMeta } from "../decode/packet-meta.ts";
import { AddrTable } from "./addr-table.ts";

export { type DesignatedMap, ZDesignatedMap as DesignatedMapSchema } from "@flowplane/protocol";

export const Designation = {
  /** This agent is designated: forward. */
  self: 0,
  /** Another agent is designated: do not forward. */
  other: 1,
  /** Nobody is designated for either address: forward (best effort, may duplicate). */
  nobody: 2,
} as const;

export class DesignatedPoints {
  private readonly table: AddrTable;
  private readonly self: number;

  constructor(map: DesignatedMap, agentId: string) {
    const ids = map.agents.map((a) => a.agentId);
    this.self = ids.indexOf(agentId);
    const entries: { cidr: ReturnType<typeof parseCidr>; value: number }[] = [];
    map.agents.forEach((a, i) => {
      for (const s of a.addresses) entries.push({ cidr: parseCidr(s), value: i });
    });
    this.table = new AddrTable(entries);
  }

  /** Designation for the (innermost) addresses of the decoded packet. */
  designate(m: PacketMeta): number {
    let owner = this.table.lookup(m.ipVersion, m.src0, m.src1, m.src2, m.src3);
    if (owner < 0) owner = this.table.lookup(m.ipVersion, m.dst0, m.dst1, m.dst2, m.dst3);
    if (owner < 0) return Designation.nobody;
    return owner === this.self ? Designation.self : Designation.other;
  }
}

// ---------------------------------------------------------------------------------------------

function mix(h: number, v: number): number {
  // murmur3 32-bit block step
  let k = Math.imul(v, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The second hash's step: a multiply-xor, cheaper than murmur's; it only verifies an entry. */
function step(g: number, v: number): number {
  g = Math.imul(g ^ v, 0x9e3779b1);
  return g ^ (g >>> 15);
}

function fin(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** Bytes of L4 payload folded into the invariant hash (tells apart equal-header packets). */
const PAYLOAD_BYTES = 16;

/**
 * Second hash of the last `invariantHash` call (returned this way to allocate nothing; a cell
 * of a typed array rather than a module `let`, whose store and load across functions cost V8
 * more than the hash itself).
 */
const second = new Int32Array(1);
export const invariantHash2 = (): number => second[0]!;

/**
 * Hash of the fields a packet keeps from one capture point to the next: innermost addresses,
 * protocol, ports, IPv4 id / IPv6 fragment id, TCP seq/ack/flags, L4 payload length and the
 * first bytes of payload. Two independent 32-bit hashes come out of one pass: the return
 * value addresses the table, `invariantHash2()` verifies the entry.
 */
export function invariantHash(m: PacketMeta, b: Uint8Array, end: number): number {
  let h = 0x9747b28c;
  let g = 0x5bd1e995;
  let v = m.src0 ^ m.src1 ^ m.src2 ^ m.src3;
  h = mix(h, v);
  g = step(g, m.src0 + m.src1 + m.src2 + m.src3);
  v = m.dst0 ^ m.dst1 ^ m.dst2 ^ m.dst3;
  h = mix(h, v);
  g = step(g, m.dst0 + m.dst1 + m.dst2 + m.dst3);
  v = (m.proto << 24) ^ (m.ipVersion << 16) ^ m.ipId;
  h = mix(h, v);
  g = step(g, v);
  v = (m.srcPort << 16) | m.dstPort;
  h = mix(h, v);
  g = step(g, v);
  h = mix(h, m.seq);
  g = step(g, m.ack);
  v = (m.tcpFlags << 20) ^ (m.payloadLen & 0xfffff) ^ ((m.icmpType + 1) << 24);
  h = mix(h, v);
  g = step(g, v ^ m.seq);
  h = mix(h, m.ack);
  const p = m.payloadOffset;
  const stop = Math.min(end, p + PAYLOAD_BYTES);
  let i = p;
  for (; i + 4 <= stop; i += 4) {
    v = (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
    h = mix(h, v);
    g = step(g, v);
  }
  v = 0;
  for (; i < stop; i++) v = (v << 8) | b[i]!;
  h = mix(h, v);
  g = step(g, v);
  second[0] = fin(g);
  return fin(h);
}

/**
 * "Seen within the last `windowMicros`" over a fixed-size table: 4-way buckets addressed by
 * one hash, entries verified by the rest of it and a second hash and stamped with the capture
 * time. An entry older than the window is as good as empty, so nothing is ever swept; when a
 * bucket is full of live entries the oldest is replaced (a duplicate may then slip through:
 * never a legitimate packet dropped for lack of room).
 *
 * One Float64Array holds a bucket's four entries side by side, (stamp, key) each, 64 bytes:
 * a lookup touches one or two cache lines instead of a line in each of three arrays (the
 * table is 1 MiB, bigger than L2, so each was a miss). The key is the bits of the first hash
 * above the bucket index (up to 21 of them) and the whole second hash, exact in a double.
 * The table is sized to the window (twice the entries 2 M packets/s put in it: 8 192, 128 KiB,
 * for the default 2 ms) so that it stays in a core's L2 cache: at 65 536 entries (1 MiB) the
 * lookup's cache misses were 7 % of the bench's CPU samples, at 4 096 2 %. Past that rate
 * `evictions` counts live entries replaced (a duplicate may then slip through).
 */
export class DedupWindow {
  private readonly table: Float64Array;
  private readonly mask: number;
  private readonly shift: number;
  hits = 0;
  evictions = 0;

  constructor(
    readonly windowMicros = 2000,
    // Room for the window's packets at 2 M packets/s, twice over: 8 192 entries for 2 ms.
    slotsLog2 = Math.min(20, Math.max(10, Math.ceil(Math.log2(Math.max(1, windowMicros) * 4)))),
  ) {
    const n = 1 << slotsLog2;
    this.table = new Float64Array(n * 2);
    for (let i = 0; i < n * 2; i += 2) this.table[i] = -Infinity;
    this.mask = (n >> 2) - 1;
    this.shift = slotsLog2 - 2;
  }

  /** True when the same packet was seen within the window (and counts it); else records it. */
  seen(m: PacketMeta, b: Uint8Array, end: number, tsMicros: number): boolean {
    const h1 = invariantHash(m, b, end);
    return this.seenHashes(h1, second[0]!, tsMicros);
  }

  seenHashes(h1: number, h2: number, tsMicros: number): boolean {
    const t = this.table;
    const base = (h1 & this.mask) << 3;
    const key = ((h1 >>> this.shift) & 0x1fffff) * 4294967296 + (h2 >>> 0); // < 2^53: exact
    const horizon = tsMicros - this.windowMicros;
    let oldest = base;
    for (let i = base; i < base + 8; i += 2) {
      const stamp = t[i]!;
      if (stamp >= horizon && t[i + 1] === key) {
        this.hits++;
        return true;
      }
      if (stamp < t[oldest]!) oldest = i;
    }
    if (t[oldest]! >= horizon) this.evictions++;
    t[oldest] = tsMicros;
    t[oldest + 1] = key;
    return false;
  }
}
