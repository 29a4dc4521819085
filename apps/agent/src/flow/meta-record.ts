/**
 * Fixed-size binary record of a decoded packet (what the flow engine needs after decoding), so a
 * dispatcher can decode once and hand records to shard workers through shared memory.
 * REC int32 words per record; the timestamp is a float64 in the last two words.
 */
import type { PacketMeta } from "../decode/packet-meta.ts";

export const REC = 40;

export function writeRecord(
  m: PacketMeta,
  w: Int32Array,
  f: Float64Array,
  o: number,
  wireLen: number,
  ts: number,
): void {
  w[o] = m.ipVersion | (m.proto << 8) | (m.tcpFlags << 16) | (m.tunnelType << 24);
  w[o + 1] = m.src0;
  w[o + 2] = m.src1;
  w[o + 3] = m.src2;
  w[o + 4] = m.src3;
  w[o + 5] = m.dst0;
  w[o + 6] = m.dst1;
  w[o + 7] = m.dst2;
  w[o + 8] = m.dst3;
  w[o + 9] = (m.srcPort << 16) | m.dstPort;
  w[o + 10] = m.seq;
  w[o + 11] = m.ack;
  w[o + 12] = m.window;
  w[o + 13] = m.payloadLen;
  w[o + 14] = m.icmpType;
  w[o + 15] = m.vlan;
  w[o + 16] = m.tunnelId;
  w[o + 17] = m.outerVersion | (m.fragment << 8) | (m.laterFragment << 9);
  w[o + 18] = m.outerSrc0;
  w[o + 19] = m.outerSrc1;
  w[o + 20] = m.outerSrc2;
  w[o + 21] = m.outerSrc3;
  w[o + 22] = m.outerDst0;
  w[o + 23] = m.outerDst1;
  w[o + 24] = m.outerDst2;
  w[o + 25] = m.outerDst3;
  w[o + 26] = m.fragSrc;
  w[o + 27] = m.fragDst;
  w[o + 28] = m.fragId;
  w[o + 29] = m.fragProto;
  w[o + 30] = m.ipId;
  w[o + 31] = wireLen;
  f[(o + 38) >> 1] = ts;
}

/** Fills `m` from a record; returns the wire length. */
export function readRecord(m: PacketMeta, w: Int32Array, o: number): number {
  const a = w[o]!;
  m.ipVersion = a & 0xff;
  m.proto = (a >>> 8) & 0xff;
  m.tcpFlags = (a >>> 16) & 0xff;
  m.tunnelType = (a >>> 24) & 0xff;
  m.src0 = w[o + 1]!;
  m.src1 = w[o + 2]!;
  m.src2 = w[o + 3]!;
  m.src3 = w[o + 4]!;
  m.dst0 = w[o + 5]!;
  m.dst1 = w[o + 6]!;
  m.dst2 = w[o + 7]!;
  m.dst3 = w[o + 8]!;
  const p = w[o + 9]!;
  m.srcPort = p >>> 16;
  m.dstPort = p & 0xffff;
  m.seq = w[o + 10]!;
  m.ack = w[o + 11]!;
  m.window = w[o + 12]!;
  m.payloadLen = w[o + 13]!;
  m.icmpType = w[o + 14]!;
  m.vlan = w[o + 15]!;
  m.tunnelId = w[o + 16]!;
  const b = w[o + 17]!;
  m.outerVersion = b & 0xff;
  m.fragment = (b >>> 8) & 1;
  m.laterFragment = (b >>> 9) & 1;
  m.outerSrc0 = w[o + 18]!;
  m.outerSrc1 = w[o + 19]!;
  m.outerSrc2 = w[o + 20]!;
  m.outerSrc3 = w[o + 21]!;
  m.outerDst0 = w[o + 22]!;
  m.outerDst1 = w[o + 23]!;
  m.outerDst2 = w[o + 24]!;
  m.outerDst3 = w[o + 25]!;
  m.fragSrc = w[o + 26]!;
  m.fragDst = w[o + 27]!;
  m.fragId = w[o + 28]!;
  m.fragProto = w[o + 29]!;
  m.ipId = w[o + 30]!;
  return w[o + 31]!;
}
