/**
 * IPv4 fragmentation of a finished copy (RFC 791): a copy bigger than the egress MTU (the copy
 * of a GRO-merged or jumbo frame) goes out as fragments written straight into the packet
 * socket's ring slots, as the kernel would cut it on a UDP socket, without that detour. Every
 * fragment repeats the copy's IPv4 header (options included: the broker never writes any) with
 * its own total length, offset and MF flag, DF cleared (the copy's source, us, is where a
 * datagram may be fragmented) and the header checksum recomputed; the id stays the copy's.
 */

const bufferCopy = Buffer.prototype.copy;

/** Payload bytes per fragment (a multiple of 8) for a header of `hl` bytes under `mtu`. */
export function fragmentChunk(hl: number, mtu: number): number {
  return (mtu - hl) & ~7;
}

/** Fragments the datagram packet[0, len) becomes under `mtu` (1 when it fits). */
export function fragmentCount(packet: Uint8Array, len: number, mtu: number): number {
  if (len <= mtu) return 1;
  const hl = (packet[0]! & 15) * 4;
  const chunk = fragmentChunk(hl, mtu);
  return chunk <= 0 ? 0 : Math.ceil((len - hl) / chunk);
}

/**
 * Writes fragment `i` of packet[0, len) under `mtu` at out[at] (header, then its slice of the
 * payload) and returns its length. A datagram that is itself a fragment keeps its offset base
 * and its MF flag on the last piece.
 */
export function writeFragment(
  packet: Uint8Array,
  len: number,
  mtu: number,
  i: number,
  out: Uint8Array,
  at: number,
): number {
  const hl = (packet[0]! & 15) * 4;
  const chunk = fragmentChunk(hl, mtu);
  const from = hl + i * chunk;
  const to = Math.min(len, from + chunk);
  const field = (packet[6]! << 8) | packet[7]!;
  const last = to === len;
  const offset = (field & 0x1fff) + ((i * chunk) >>> 3);
  const flags = last ? field & 0x2000 : 0x2000; // MF; DF (0x4000) cleared
  const n = hl + to - from;
  for (let k = 0; k < hl; k++) out[at + k] = packet[k]!;
  out[at + 2] = n >>> 8;
  out[at + 3] = n & 255;
  out[at + 6] = (flags | offset) >>> 8;
  out[at + 7] = offset & 255;
  out[at + 10] = 0;
  out[at + 11] = 0;
  let s = 0;
  for (let k = 0; k < hl; k += 2) s += (out[at + k]! << 8) | out[at + k + 1]!;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  out[at + 10] = c >>> 8;
  out[at + 11] = c & 255;
  bufferCopy.call(packet, out, at + hl, from, to);
  return n;
}
