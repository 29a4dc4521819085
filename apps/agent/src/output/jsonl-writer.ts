/**
 * Appends one JSON object per line, written as bytes straight into a reused Buffer that goes out
 * with one fs.writeSync per ~1 MiB: no string per value or row, no join, no UTF-8 pass (the
 * string-building writer before this cost 6-7 µs per 28-column L7 row; this one 1.5-2 µs).
 *
 * Rows of one file share a shape (the table's columns): the first row's keys give pre-encoded
 * `,"key":` prefixes, copied 4 bytes at a time. Integers are written digit by digit, printable
 * ASCII strings byte by byte (and a column's last string is kept as bytes: org, agent, IPs and
 * protocol names repeat row after row), booleans and null as literals, arrays of numbers (the
 * latency buckets of application metrics) element by element. A string that needs
 * escaping or is not ASCII is written as JSON.stringify(s) in UTF-8, a fraction or a huge number
 * as String(v); a row with other keys, an undefined or nested value goes through JSON.stringify
 * whole. Every line is byte-identical to JSON.stringify(row).
 */
import { closeSync, openSync, writeSync } from "node:fs";

const FLUSH_AT = 1 << 20;
/** Longest number text: "-1.7976931348623157e+308" and friends. */
const NUM_MAX = 25;

/** `"s"` at b[o..]; the caller reserved 6 × length + 2 bytes. Returns the new offset. */
function writeStr(b: Buffer, o: number, s: string): number {
  const n = s.length;
  b[o] = 34;
  let p = o + 1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // Quote, backslash, control characters and non-ASCII: JSON.stringify's escapes, in UTF-8.
    if (c < 0x20 || c > 0x7e || c === 34 || c === 92) return o + b.write(JSON.stringify(s), o, "utf8");
    b[p++] = c;
  }
  b[p] = 34;
  return p + 1;
}

/** Decimal digits of a non-negative int32 at b[o..]. */
function writeUint(b: Buffer, o: number, n: number): number {
  if (n < 10) {
    b[o] = 48 + n;
    return o + 1;
  }
  const len =
    n < 100
      ? 2
      : n < 1e3
        ? 3
        : n < 1e4
          ? 4
          : n < 1e5
            ? 5
            : n < 1e6
              ? 6
              : n < 1e7
                ? 7
                : n < 1e8
                  ? 8
                  : n < 1e9
                    ? 9
                    : 10;
  const end = o + len;
  let p = end;
  do {
    const q = (n / 10) | 0;
    b[--p] = 48 + n - q * 10;
    n = q;
  } while (n > 0);
  return end;
}

function writeAscii(b: Buffer, o: number, t: string): number {
  for (let i = 0; i < t.length; i++) b[o + i] = t.charCodeAt(i);
  return o + t.length;
}

/** JSON.stringify(v) of a number at b[o..] (NUM_MAX bytes reserved). */
function writeNum(b: Buffer, o: number, v: number): number {
  if ((v | 0) === v) {
    // int32 (and -0, which JSON writes as 0)
    if (v >= 0) return writeUint(b, o, v);
    if (v === -2147483648) return writeAscii(b, o, "-2147483648");
    b[o] = 45;
    return writeUint(b, o + 1, -v);
  }
  if (Number.isSafeInteger(v)) {
    // µs timestamps and 64-bit counters: int32 halves of up to 8 and exactly 8 digits.
    if (v < 0) {
      b[o++] = 45;
      v = -v;
    }
    const hi = Math.floor(v / 1e8);
    let lo = v - hi * 1e8;
    o = writeUint(b, o, hi);
    for (let p = o + 7; p >= o; p--) {
      const q = (lo / 10) | 0;
      b[p] = 48 + lo - q * 10;
      lo = q;
    }
    return o + 8;
  }
  return writeAscii(b, o, Number.isFinite(v) ? String(v) : "null");
}

/** `[n,n,...]` at b[o..] (room reserved), or -1 when an element is not a number. */
function writeNumbers(b: Buffer, o: number, a: unknown[]): number {
  b[o++] = 91;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== "number") return -1;
    if (i > 0) b[o++] = 44;
    o = writeNum(b, o, x);
  }
  b[o] = 93;
  return o + 1;
}

/** The `{"key":` / `,"key":` prefixes of one shape, as bytes. */
interface Shape {
  keys: string[];
  /** Key i's prefix is preLen[i] bytes, little-endian 32-bit words from preWords[4 * i]. */
  preWords: Int32Array;
  preLen: Int32Array;
  /** Per column: the last string written and its prefix + value bytes (words), copied as one. */
  lastStr: (string | null)[];
  lastWords: Int32Array;
  lastLen: Int32Array;
}

/** Prefixes up to this many words (of 4 bytes) are copied a word at a time. */
const MAX_WORDS = 16;
/** Prefix + quoted string kept per column for the next row, up to this many words. */
const CACHE_WORDS = 24;

function shapeOf(row: Record<string, unknown>): Shape | null {
  if (Array.isArray(row)) return null;
  const keys = Object.keys(row);
  const n = keys.length;
  const preWords = new Int32Array(n * MAX_WORDS);
  const preLen = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = Buffer.from(`${i === 0 ? "{" : ","}${JSON.stringify(keys[i])}:`, "utf8");
    // A key too long for the words is left to JSON.stringify (never the case for our columns).
    if (p.length > MAX_WORDS * 4) return null;
    const padded = Buffer.alloc(MAX_WORDS * 4);
    p.copy(padded);
    for (let w = 0; w < MAX_WORDS; w++) preWords[i * MAX_WORDS + w] = padded.readInt32LE(w * 4);
    preLen[i] = p.length;
  }
  return {
    keys,
    preWords,
    preLen,
    lastStr: new Array<string | null>(n).fill(null),
    lastWords: new Int32Array(n * CACHE_WORDS),
    lastLen: new Int32Array(n),
  };
}

export class JsonlWriter {
  private fd: number;
  private buf: Buffer = Buffer.allocUnsafe(FLUSH_AT + 65536);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private pos = 0;
  private shape: Shape | null | undefined;
  rows = 0;

  constructor(path: string) {
    this.fd = openSync(path, "w");
  }

  write(row: object): void {
    const r = row as Record<string, unknown>;
    if (this.shape === undefined) this.shape = shapeOf(r);
    const start = this.pos;
    if (this.shape === null || !this.fields(r, this.shape)) {
      this.pos = start;
      const t = `${JSON.stringify(row)}\n`;
      this.reserve(t.length * 3);
      this.pos += this.buf.write(t, this.pos, "utf8");
    } else {
      this.reserve(2);
      this.buf[this.pos] = 125;
      this.buf[this.pos + 1] = 10;
      this.pos += 2;
    }
    this.rows++;
    if (this.pos >= FLUSH_AT) this.flush();
  }

  /**
   * The row's fields in the shape's key order; false (part written) when its keys are not the
   * shape's or a value is not a string, number, boolean or null. One for-in walk both checks the
   * keys and reads the values (V8 reads `r[k]` inside for-in through the enum cache).
   */
  private fields(r: Record<string, unknown>, s: Shape): boolean {
    const keys = s.keys;
    const preWords = s.preWords;
    const preLen = s.preLen;
    let i = 0;
    for (const k in r) {
      if (k !== keys[i]) return false;
      const v = r[k];
      const plen = preLen[i]!;
      const o0 = this.reserve(
        plen +
          (typeof v === "string"
            ? v.length * 6 + 2
            : Array.isArray(v)
              ? v.length * (NUM_MAX + 1) + 2
              : NUM_MAX) +
          4,
      );
      const dv = this.view;
      const b = this.buf;
      let o: number;
      if (typeof v === "string" && v === s.lastStr[i]) {
        // The same string as this column's last row: prefix and value in one copy.
        const lw = s.lastWords;
        const e = o0 + s.lastLen[i]!;
        for (let w = i * CACHE_WORDS, p = o0; p < e; w++, p += 4) dv.setInt32(p, lw[w]!, true);
        this.pos = e;
        i++;
        continue;
      }
      // Whole words: bytes past the prefix are overwritten by the value (room reserved).
      for (let w = i * MAX_WORDS, p = o0, e = o0 + plen; p < e; w++, p += 4) {
        dv.setInt32(p, preWords[w]!, true);
      }
      o = o0 + plen;
      if (typeof v === "string") {
        o = writeStr(b, o, v);
        if (o - o0 <= CACHE_WORDS * 4) {
          const lw = s.lastWords;
          for (let w = i * CACHE_WORDS, p = o0; p < o; w++, p += 4) lw[w] = dv.getInt32(p, true);
          s.lastStr[i] = v;
          s.lastLen[i] = o - o0;
        }
      } else if (typeof v === "number") o = writeNum(b, o, v);
      else if (v === true) o = writeAscii(b, o, "true");
      else if (v === false) o = writeAscii(b, o, "false");
      else if (v === null) o = writeAscii(b, o, "null");
      else if (Array.isArray(v)) {
        // Arrays of numbers (application metrics' latency buckets); anything else: JSON.stringify.
        o = writeNumbers(b, o, v);
        if (o < 0) return false;
      } else return false;
      this.pos = o;
      i++;
    }
    return i === keys.length;
  }

  /** Makes room for n more bytes (growing, never flushing mid-row); returns the write offset. */
  private reserve(n: number): number {
    if (this.pos + n > this.buf.length) {
      const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(nb, 0, 0, this.pos);
      this.setBuf(nb);
    }
    return this.pos;
  }

  flush(): void {
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.pos = 0;
    // A buffer grown for one huge row goes back to the usual size.
    if (this.buf.length > 4 * FLUSH_AT) this.setBuf(Buffer.allocUnsafe(FLUSH_AT + 65536));
  }

  private setBuf(b: Buffer): void {
    this.buf = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
