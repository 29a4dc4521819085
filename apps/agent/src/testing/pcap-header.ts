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
