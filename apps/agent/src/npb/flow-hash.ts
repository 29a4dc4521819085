/**
 * Symmetric flow hash: both directions of a flow give the same value, so spreading a policy's
 * copies over several tools by `hash % n` keeps a whole conversation on one tool (an IDS needs
 * both halves). Each side (address words + port) is hashed on its own and the two are ADDED,
 * which does not care about order.
 */
import type { PacketMeta } from "../decode/packet-meta.ts";

function side(a0: number, a1: number, a2: number, a3: number, port: number): number {
  let h = Math.imul(a0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ a1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ a2, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16) ^ a3, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15) ^ port, 0x27d4eb2f);
  return (h ^ (h >>> 16)) | 0;
}

/** Non-negative 31-bit symmetric hash of the innermost 5-tuple. */
export function symmetricFlowHash(m: PacketMeta): number {
  const a = side(m.src0, m.src1, m.src2, m.src3, m.srcPort);
  const b = side(m.dst0, m.dst1, m.dst2, m.dst3, m.dstPort);
  let h = (a + b) ^ Math.imul(m.proto + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) & 0x7fffffff;
}
