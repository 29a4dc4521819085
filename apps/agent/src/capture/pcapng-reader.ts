/**
 * pcapng: blocks of (type, total length, body, total length). Section Header Blocks set the byte
 * order (a section may differ from the previous one); Interface Description Blocks give each
 * interface its link type and if_tsresol; Enhanced and Simple Packet Blocks carry packets;
 * everything else is skipped by its length. A bogus block length ends the read with a counted
 * error (no reliable way to resynchronise).
 */
import type { ChunkedSource } from "./chunked-source.ts";
import type { PacketHandler, ReadErrorHandler } from "./packet-sink.ts";

const MAX_BLOCK = 16 * 1024 * 1024;

interface Iface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second as divisor/multiplier to µs. */
  tsDiv: number;
  tsMul: number;
}

export function readPcapng(src: ChunkedSource, onPacket: PacketHandler, onError: ReadErrorHandler): number {
  let le = true;
  let ifaces: Iface[] = [];
  let count = 0;
  for (;;) {
    if (!src.ensure(12)) {
      if (src.len - src.pos > 0) onError("truncated_block_header", src.offset);
      break;
    }
    let b = src.buf;
    let p = src.pos;
    const typeLe = b.readUInt32LE(p);
    if (typeLe === 0x0a0d0d0a) {
      const bom = b.readUInt32LE(p + 8);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else {
        onError("bad_byte_order_magic", src.offset);
        break;
      }
      ifaces = [];
    }
    const type = le ? typeLe : b.readUInt32BE(p);
    const total = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
    if (total < 12 || total % 4 !== 0 || total > MAX_BLOCK) {
      onError("bogus_block_length", src.offset);
      break;
    }
    if (!src.ensure(total)) {
      onError("truncated_block", src.offset);
      break;
    }
    b = src.buf;
    p = src.pos;
    const at = src.offset;
    if (type === 1) {
      // IDB: link type (16), reserved, snaplen, options (if_tsresol = code 9).
      if (total < 20) onError("bad_idb", at);
      else {
        const lt = le ? b.readUInt16LE(p + 8) : b.readUInt16BE(p + 8);
        const iface: Iface = { linkType: lt, snaplen: rd32(b, le, p + 12), tsDiv: 1, tsMul: 1 };
        let o = p + 16;
        const e = p + total - 4;
        while (o + 4 <= e) {
          const code = le ? b.readUInt16LE(o) : b.readUInt16BE(o);
          const olen = le ? b.readUInt16LE(o + 2) : b.readUInt16BE(o + 2);
          if (code === 0) break;
          if (code === 9 && olen >= 1) {
            const v = b[o + 4]!;
            const units = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
            if (units >= 1e6) {
              iface.tsDiv = units / 1e6;
              iface.tsMul = 1;
            } else {
              iface.tsDiv = 1;
              iface.tsMul = 1e6 / units;
            }
          }
          o += 4 + ((olen + 3) & ~3);
        }
        ifaces.push(iface);
      }
    } else if (type === 6 || type === 3) {
      let ifc: Iface | undefined;
      let caplen: number;
      let wirelen: number;
      let dataOff: number;
      let ts = 0;
      if (type === 6) {
        ifc = ifaces[rd32(b, le, p + 8)];
        const hi = rd32(b, le, p + 12);
        const lo = rd32(b, le, p + 16);
        caplen = rd32(b, le, p + 20);
        wirelen = rd32(b, le, p + 24);
        dataOff = p + 28;
        if (ifc) ts = toMicros(hi, lo, ifc);
      } else {
        ifc = ifaces[0];
        wirelen = rd32(b, le, p + 8);
        caplen = Math.min(wirelen, total - 16, ifc && ifc.snaplen > 0 ? ifc.snaplen : wirelen);
        dataOff = p + 12;
      }
      if (!ifc) onError("packet_for_unknown_interface", at);
      else if (dataOff + caplen > p + total - 4) onError("bogus_packet_length", at);
      else {
        // frame.len as recorded, even when a writer stored it below the captured length.
        onPacket(ifc.linkType, b, dataOff, caplen, wirelen, ts, at);
        count++;
      }
    }
    src.pos += total;
  }
  return count;
}

function rd32(b: Buffer, le: boolean, o: number): number {
  return le ? b.readUInt32LE(o) : b.readUInt32BE(o);
}

function toMicros(hi: number, lo: number, ifc: Iface): number {
  if (ifc.tsMul === 1 && ifc.tsDiv === 1) return hi * 4294967296 + lo;
  if (ifc.tsMul !== 1) return (hi * 4294967296 + lo) * ifc.tsMul;
  const d = ifc.tsDiv;
  if (Number.isInteger(d)) {
    // Exact split so nanosecond values (≈1.7e18, beyond 2^53) still land on the right µs.
    const q = Math.floor(4294967296 / d);
    const r = 4294967296 - q * d;
    return hi * q + Math.floor((hi * r + lo) / d);
  }
  return Math.floor((hi * 4294967296 + lo) / d);
}
