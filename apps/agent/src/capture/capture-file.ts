/** Reads a pcap or pcapng file (chosen by magic), handing every packet to `onPacket`. */
import { type BlockFence, ChunkedSource } from "./chunked-source.ts";
import type { PacketHandler, ReadErrorHandler } from "./packet-sink.ts";
import { readPcap } from "./pcap-reader.ts";
import { readPcapng } from "./pcapng-reader.ts";

export type { PacketHandler, ReadErrorHandler } from "./packet-sink.ts";

export function readCaptureSource(
  src: ChunkedSource,
  onPacket: PacketHandler,
  onError: ReadErrorHandler,
): number {
  if (!src.ensure(4)) {
    onError("empty_file", 0);
    return 0;
  }
  const magic = src.buf.readUInt32LE(src.pos);
  if (magic === 0x0a0d0d0a) return readPcapng(src, onPacket, onError);
  if (magic === 0xa1b2c3d4 || magic === 0xd4c3b2a1 || magic === 0xa1b23c4d || magic === 0x4d3cb2a1) {
    return readPcap(src, onPacket, onError);
  }
  onError("unknown_file_format", 0);
  return 0;
}

/** `fence`: a reader behind the handlers holds pointers into the blocks (see BlockFence). */
export function readCaptureFile(
  path: string,
  onPacket: PacketHandler,
  onError: ReadErrorHandler,
  fence?: BlockFence,
): number {
  const src = ChunkedSource.open(path, undefined, fence);
  try {
    return readCaptureSource(src, onPacket, onError);
  } finally {
    src.close();
  }
}

export function readCaptureBuffer(
  buf: Uint8Array,
  onPacket: PacketHandler,
  onError: ReadErrorHandler,
): number {
  return readCaptureSource(ChunkedSource.fromBuffer(buf), onPacket, onError);
}
