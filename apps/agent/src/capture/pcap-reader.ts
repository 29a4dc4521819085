/**
 * Classic pcap: 24-byte header whose magic tells byte order (a1b2c3d4 / d4c3b2a1) and
 * timestamp unit (µs, or ns for a1b23c4d), then 16-byte record headers. A record with a length
 * past the sanity bound or past the end of the file ends the read with a counted error; all
 * packets before it are kept.
 */
import type { ChunkedSource } from "./chunked-source.ts";
import { MAX_PACKET, type PacketHandler, type ReadErrorHandler } from "./packet-sink.ts";

export function readPcap(src: ChunkedSource, onPacket: PacketHandler, onError: ReadErrorHandler): number {
  if (!src.ensure(24)) {
    onError("truncated_file_header", src.offset);
    return 0;
  }
  const b = src.buf;
  const magicLe = b.readUInt32LE(src.pos);
  let le: boolean;
  let nanos: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nanos = magicLe === 0xa1b23c4d;
  } else {
    const magicBe = b.readUInt32BE(src.pos);
    le = false;
    nanos = magicBe === 0xa1b23c4d;
  }
  const linkType = (le ? b.readUInt32LE(src.pos + 20) : b.readUInt32BE(src.pos + 20)) & 0x0fffffff;
  src.pos += 24;
  return readPcapRecords(src, le, nanos, linkType, onPacket, onError);
}

/**
 * The records after the file header (16-byte header + bytes each), until the source ends. Live
 * capture (../live/) hands its batches, written by libpcap in this layout, through here too.
 *
 * Two loops: `blockRecords` walks the complete records in the block and stops at the first it
 * cannot take; this function refills the block and reports errors. The per-packet loop thus
 * never meets the refill and error paths, which V8 would otherwise reach first long after it
 * optimized the loop (no type feedback there: a deoptimization at the first block boundary,
 * then a stretch in slower code). The first call stops after a few records for the same reason:
 * its loop exit has then run before V8 compiles the loop.
 */
export function readPcapRecords(
  src: ChunkedSource,
  le: boolean,
  nanos: boolean,
  linkType: number,
  onPacket: PacketHandler,
  onError: ReadErrorHandler,
): number {
  let count = 0;
  let limit = 64;
  for (;;) {
    count += blockRecords(src, le, nanos, linkType, onPacket, limit);
    limit = 0x7fffffff;
    if (src.len - src.pos < 16 && !src.ensure(16)) {
      if (src.len - src.pos > 0) onError("truncated_record_header", src.offset);
      break;
    }
    const b = src.buf;
    const p = src.pos + 8;
    const caplen = le
      ? b[p]! + (b[p + 1]! << 8) + (b[p + 2]! << 16) + b[p + 3]! * 16777216
      : b[p + 3]! + (b[p + 2]! << 8) + (b[p + 1]! << 16) + b[p]! * 16777216;
    if (caplen > MAX_PACKET) {
      onError("bogus_record_length", src.offset);
      break;
    }
    if (!src.ensure(16 + caplen)) {
      onError("truncated_record", src.offset);
      break;
    }
  }
  return count;
}

/**
 * The complete records of a block held whole in a buffer source, from src.pos on, without
 * reporting the record the block's end cuts or one with a bogus length: src.pos ends at the first
 * record it cannot take, for the caller to carry into its next block or to hand to
 * `readPcapRecords` (which reports it). The multi-worker reader's blocks (dispatch-analyze.ts)
 * go through here instead of being walked once to find their last complete record and again
 * to read them. The first call stops after a few records, as in `readPcapRecords`.
 */
export function readCompleteRecords(
  src: ChunkedSource,
  le: boolean,
  nanos: boolean,
  linkType: number,
  onPacket: PacketHandler,
): number {
  const n = blockRecords(src, le, nanos, linkType, onPacket, 64);
  return n + blockRecords(src, le, nanos, linkType, onPacket, 0x7fffffff);
}

/** MAX_PACKET as a same-file enum member, a literal once compiled (an import is loaded per use). */
enum Limit {
  MAX_PACKET = 256 * 1024,
}
if (Limit.MAX_PACKET !== MAX_PACKET) throw new Error("pcap-reader: Limit.MAX_PACKET !== MAX_PACKET");

/** The complete records of the block from src.pos on, at most `limit`; src.pos ends after them. */
function blockRecords(
  src: ChunkedSource,
  le: boolean,
  nanos: boolean,
  linkType: number,
  onPacket: PacketHandler,
  limit: number,
): number {
  const buf = src.buf;
  const len = src.len;
  const base = src.base;
  // One DataView per block: a 32-bit field is one bounds-checked load instead of four.
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // Known booleans: a parameter used as a condition costs the full truthiness test (false,
  // empty string, heap number, BigInt...) at every packet in optimized code.
  const little = le === true;
  const ns = nanos === true;
  let p = src.pos;
  let count = 0;
  while (len - p >= 16 && count < limit) {
    const sec = dv.getUint32(p, little);
    const frac = dv.getUint32(p + 4, little);
    const caplen = dv.getUint32(p + 8, little);
    const wirelen = dv.getUint32(p + 12, little);
    if (caplen > Limit.MAX_PACKET || len - p < 16 + caplen) break;
    const ts = sec * 1_000_000 + (ns ? Math.floor(frac / 1000) : frac);
    onPacket(linkType, buf, p + 16, caplen, wirelen, ts, base + p);
    p += 16 + caplen;
    count++;
  }
  src.pos = p;
  return count;
}
