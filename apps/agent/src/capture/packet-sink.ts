/** What readers hand each packet to. `off` indexes `buf`, valid only during the call. */
export type PacketHandler = (
  linkType: number,
  buf: Uint8Array,
  off: number,
  capLen: number,
  wireLen: number,
  tsMicros: number,
  fileOffset: number,
) => void;

/** A reader-level problem: truncated file, bogus length, unknown block. Never thrown. */
export type ReadErrorHandler = (kind: string, fileOffset: number) => void;

/** Upper bound for one captured packet; anything larger is a corrupt length field. */
export const MAX_PACKET = 256 * 1024;
