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
  let count = 0;
  for (;;) {
    if (!src.ensure(16)) {
      if (src.len - src.pos > 0) onError("truncated_record_header", src.offset);
      break;
    }
    const buf = src.buf;
    const p = src.pos;
    let sec: number;
    let frac: number;
    let caplen: number;
    let wirelen: number;
    if (le) {
      sec = buf.readUInt32LE(p);
      frac = buf.readUInt32LE(p + 4);
      caplen = buf.readUInt32LE(p + 8);
      wirelen = buf.readUInt32LE(p + 12);
    } else {
      sec = buf.readUInt32BE(p);
      frac = buf.readUInt32BE(p + 4);
      caplen = buf.readUInt32BE(p + 8);
      wirelen = buf.readUInt32BE(p + 12);
    }
    if (caplen > MAX_PACKET) {
      onError("bogus_record_length", src.offset);
      break;
    }
    if (!src.ensure(16 + caplen)) {
      onError("truncated_record", src.offset);
      break;
    }
    const at = src.offset;
    const ts = sec * 1_000_000 + (nanos ? Math.floor(frac / 1000) : frac);
    onPacket(linkType, src.buf, src.pos + 16, caplen, wirelen, ts, at);
    src.pos += 16 + caplen;
    count++;
  }
  return count;
}
