/** The global header of the pcap files the benches and tests write: classic format 2.4, little-endian, µs times. */
export function pcapFileHeader(snaplen: number, linkType = 1 /* Ethernet */): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(snaplen, 16);
  h.writeUInt32LE(linkType, 20);
  return h;
}

/** A whole pcap file (Ethernet, snaplen 65535) of `frames` at their times (µs), uncut. */
export function pcapFile(frames: Iterable<readonly [number, Uint8Array]>): Buffer {
  const parts: Uint8Array[] = [pcapFileHeader(65535)];
  for (const [ts, b] of frames) {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(Math.floor(ts / 1e6), 0);
    r.writeUInt32LE(ts % 1e6, 4);
    r.writeUInt32LE(b.length, 8);
    r.writeUInt32LE(b.length, 12);
    parts.push(r, b);
  }
  return Buffer.concat(parts);
}
