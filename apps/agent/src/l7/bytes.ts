/** Small allocation-free readers over payload views, and bounded string extraction. */

// Buffer's native slicers work on any Uint8Array and are far faster than TextDecoder for the
// short ASCII fields L7 rows carry.
const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, s: number, e: number) => string;
const utf8Slice = Buffer.prototype.utf8Slice as (this: Uint8Array, s: number, e: number) => string;

/** Longest string any field keeps (SQL, paths, topics); the rest is cut. */
export const MAX_FIELD = 512;

export function latin1(b: Uint8Array, s: number, e: number, max = MAX_FIELD): string {
  if (e - s > max) e = s + max;
  if (e <= s) return "";
  return latin1Slice.call(b, s, e);
}

export function utf8(b: Uint8Array, s: number, e: number, max = MAX_FIELD): string {
  if (e - s > max) e = s + max;
  if (e <= s) return "";
  return utf8Slice.call(b, s, e);
}

export function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function u24(b: Uint8Array, o: number): number {
  return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
}

/** Unsigned 32-bit big-endian. */
export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function i32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

export function u16le(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function u24le(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
}

export function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** Index of "\r\n" at or after `s` and before `e`, or -1. */
export function findCrlf(b: Uint8Array, s: number, e: number): number {
  for (let i = s; i + 1 < e; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return -1;
}

/** Index of the byte `c` in [s, e), or -1. */
export function findByte(b: Uint8Array, c: number, s: number, e: number): number {
  for (let i = s; i < e; i++) if (b[i] === c) return i;
  return -1;
}

/** True when [o, o+ascii.length) holds exactly `ascii`. */
export function startsWith(b: Uint8Array, o: number, e: number, ascii: string): boolean {
  if (o + ascii.length > e) return false;
  for (let i = 0; i < ascii.length; i++) if (b[o + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

/** Decimal digits in [s, e) → number, or -1 when empty / not digits / absurd. */
export function parseDec(b: Uint8Array, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]! - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** Printable ASCII (plus tab/CR/LF) over [s, e). */
export function isPrintable(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if ((c < 32 || c > 126) && c !== 9 && c !== 10 && c !== 13) return false;
  }
  return true;
}
