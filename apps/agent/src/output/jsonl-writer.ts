/**
 * Appends one JSON object per line, written as bytes straight into a reused Buffer that goes out
 * with one fs.writeSync per ~1 MiB: no string per value or row, no join, no UTF-8 pass.
 *
 * Rows of one file share a shape (the table's columns): the first row's keys give pre-encoded
 * `,"key":` prefixes, copied 4 bytes at a time. Consecutive rows repeat most of their values
 * (org, agent, a flow's IPs, ports and protocol, a server's host, empty trace columns): a column
 * whose value is the previous row's (same primitive) is not written again, its bytes are copied
 * from the previous row, still in the buffer, and neighbouring such columns in one copy. Other
 * integers are written two digits at a time, printable ASCII strings byte by byte, booleans and
 * null as literals, arrays of numbers (the latency buckets of application metrics) element by
 * element. A string that needs escaping or is not ASCII is written as JSON.stringify(s) in
 * UTF-8, a fraction or a huge number as String(v); a row with other keys, an undefined or nested
 * value goes through JSON.stringify whole. Every line is byte-identical to JSON.stringify(row).
 * Lines already formatted as bytes (the native HTTP/1 rows) are appended as they are (`writeRaw`).
 *
 * Once a file passes its first full chunk, its chunks are copied to the isolate's FileSink and
 * written by its writer thread (file-sink.ts), so the write system calls overlap the caller's
 * work; `close()` waits for them. A failed write throws at the next flush or close. `useSink`
 * hands them to another thread instead (the native L7 row thread, when an analysis has one).
 */
import { closeSync, constants, lstatSync, openSync, unlinkSync, writeSync } from "node:fs";
import { devNull } from "node:os";
import { type ChunkSink, failureError, fileSink } from "./file-sink.ts";

const FLUSH_AT = 1 << 20;
const COPY_NATIVE = 64;
/** Longest number text: "-1.7976931348623157e+308" and friends. */
const NUM_MAX = 25;
/** Prefixes up to this many words (of 4 bytes) are copied a word at a time. */
const MAX_WORDS = 16;
/** No previous value (arrays are never copied from the previous row: they may be mutated). */
const NONE = Symbol("none");

/** "00".."99" as little-endian 16-bit words. */
const PAIRS = new Uint16Array(100);
for (let i = 0; i < 100; i++) PAIRS[i] = (48 + ((i / 10) | 0)) | ((48 + (i % 10)) << 8);

/** Decimal digits of a non-negative int32 at b[o..]. */
function writeUint(b: Buffer, dv: DataView, o: number, n: number): number {
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
  while (n >= 100) {
    const q = (n / 100) | 0;
    p -= 2;
    dv.setUint16(p, PAIRS[n - q * 100]!, true);
    n = q;
  }
  if (n >= 10) dv.setUint16(p - 2, PAIRS[n]!, true);
  else b[p - 1] = 48 + n;
  return end;
}

/** Exactly 8 digits (leading zeros) of 0 <= n < 1e8 at b[o..]. */
function write8(dv: DataView, o: number, n: number): void {
  const hi = (n / 10000) | 0;
  const lo = n - hi * 10000;
  const h1 = (hi / 100) | 0;
  const l1 = (lo / 100) | 0;
  dv.setUint16(o, PAIRS[h1]!, true);
  dv.setUint16(o + 2, PAIRS[hi - h1 * 100]!, true);
  dv.setUint16(o + 4, PAIRS[l1]!, true);
  dv.setUint16(o + 6, PAIRS[lo - l1 * 100]!, true);
}

function writeAscii(b: Buffer, o: number, t: string): number {
  for (let i = 0; i < t.length; i++) b[o + i] = t.charCodeAt(i);
  return o + t.length;
}

/** JSON.stringify(v) of a number at b[o..] (NUM_MAX bytes reserved). */
function writeNum(b: Buffer, dv: DataView, o: number, v: number): number {
  if ((v | 0) === v) {
    // int32 (and -0, which JSON writes as 0). `| 0`: an int32 held as a double (read from a typed
    // array, or computed) goes in as an integer; as it was, it met writeUint's optimized code,
    // built for small integers only, and deoptimized it.
    if (v >= 0) return writeUint(b, dv, o, v | 0);
    if (v === -2147483648) return writeAscii(b, o, "-2147483648");
    b[o] = 45;
    return writeUint(b, dv, o + 1, -v | 0);
  }
  if (Number.isSafeInteger(v)) {
    // µs timestamps and 64-bit counters: an int32 of up to 8 digits, then exactly 8 digits.
    if (v < 0) {
      b[o++] = 45;
      v = -v;
    }
    const hi = Math.floor(v / 1e8);
    o = writeUint(b, dv, o, hi | 0);
    write8(dv, o, (v - hi * 1e8) | 0);
    return o + 8;
  }
  return writeAscii(b, o, Number.isFinite(v) ? String(v) : "null");
}

/** `"s"` at b[o..] when s is printable ASCII without quote or backslash (room reserved), else -1. */
function writePlain(b: Buffer, o: number, s: string): number {
  const n = s.length;
  b[o] = 34;
  const p = o + 1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // Quote, backslash, control characters and non-ASCII: left to JSON.stringify.
    if (c < 0x20 || c > 0x7e || c === 34 || c === 92) return -1;
    b[p + i] = c;
  }
  b[p + n] = 34;
  return p + n + 1;
}

/** `[n,n,...]` at b[o..] (room reserved), or -1 when an element is not a number. */
function writeNumbers(b: Buffer, dv: DataView, o: number, a: unknown[]): number {
  b[o++] = 91;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== "number") return -1;
    if (i > 0) b[o++] = 44;
    o = writeNum(b, dv, o, x);
  }
  b[o] = 93;
  return o + 1;
}

/** The `{"key":` / `,"key":` prefixes of one shape, as bytes, and the previous row's columns. */
interface Shape {
  keys: string[];
  /** Key i's prefix is preLen[i] bytes, little-endian 32-bit words from preWords[MAX_WORDS * i]. */
  preWords: Int32Array;
  preLen: Int32Array;
  /** Bytes that every column written as a number (prefix + NUM_MAX) would take, + 8. */
  rowMax: number;
  /** The previous row's values and where its columns start in the buffer (`prev` says valid). */
  values: unknown[];
  offsets: Int32Array;
  /** Where the previous row's last column ends (its `}`), or -1 when it is not in the buffer. */
  prevEnd: number;
}

function shapeOf(row: Record<string, unknown>): Shape | null {
  if (Array.isArray(row)) return null;
  const keys = Object.keys(row);
  const n = keys.length;
  if (n === 0) return null;
  const preWords = new Int32Array(n * MAX_WORDS);
  const preLen = new Int32Array(n);
  let rowMax = 8;
  for (let i = 0; i < n; i++) {
    const p = Buffer.from(`${i === 0 ? "{" : ","}${JSON.stringify(keys[i])}:`, "utf8");
    // A key too long for the words is left to JSON.stringify (never the case for our columns).
    if (p.length > MAX_WORDS * 4) return null;
    const padded = Buffer.alloc(MAX_WORDS * 4);
    p.copy(padded);
    for (let w = 0; w < MAX_WORDS; w++) preWords[i * MAX_WORDS + w] = padded.readInt32LE(w * 4);
    preLen[i] = p.length;
    rowMax += p.length + NUM_MAX;
  }
  return {
    keys,
    preWords,
    preLen,
    rowMax,
    values: new Array<unknown>(n).fill(NONE),
    offsets: new Int32Array(n),
    prevEnd: -1,
  };
}

export class JsonlWriter {
  private fd: number;
  private path: string;
  private buf: Buffer = Buffer.allocUnsafe(FLUSH_AT + 65536);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private pos = 0;
  private shape: Shape | null | undefined;
  /** The writer thread's sink once the file has had a full chunk or useSink() (null: written here). */
  private sink: ChunkSink | null | undefined;
  /** The last chunk handed to the sink (-1: none). */
  private lastSeq = -1;
  rows = 0;

  constructor(path: string) {
    warmUpOnce();
    this.path = path;
    // A regular file left by an earlier run is removed, not truncated: ext4 writes back a file
    // truncated to nothing when it is closed (auto_da_alloc, for programs that rewrite files in
    // place without fsync), which held the close after web-1m's 320 MB of L7 rows for 100-220
    // ms. Anything else (a symlink, a device, a file not ours to remove) is opened as before.
    try {
      if (lstatSync(path).isFile()) unlinkSync(path);
    } catch {}
    // O_APPEND: the native row path's thread writes whole lines to this descriptor too
    // (`appendFd`); every write then lands at the end, whole, whatever the other wrote.
    this.fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND,
      0o666,
    );
  }

  /**
   * The file's descriptor, for another thread that appends whole lines to it (the native row
   * path's): valid until close(), which the caller calls only once that thread is done.
   */
  get appendFd(): number {
    return this.fd;
  }

  /**
   * Hands this file's chunks to `sink` from now on instead of this isolate's writer thread,
   * which is then never started if no other file needs it (the native L7 row thread takes
   * every file of an analysis: one writer thread fewer competing for the cores).
   */
  useSink(sink: ChunkSink): void {
    if (this.sink === sink) return;
    if (this.lastSeq >= 0 && this.sink) {
      // Chunks already queued elsewhere land first.
      this.sink.wait(this.lastSeq);
      const f = this.sink.failure(this.fd);
      if (f) throw failureError(f, this.path);
    }
    this.sink = sink;
    this.lastSeq = -1;
  }

  write(row: object): void {
    const r = row as Record<string, unknown>;
    if (this.shape === undefined) this.shape = shapeOf(r);
    const s = this.shape;
    const end = s === null || Array.isArray(r) ? -1 : this.fields(r, s);
    if (end < 0) {
      if (s !== null) s.prevEnd = -1;
      const t = `${JSON.stringify(row)}\n`;
      this.room(this.pos, t.length * 3);
      this.pos += this.buf.write(t, this.pos, "utf8");
    } else {
      // fields() left room for the closing bytes.
      this.buf[end] = 125;
      this.buf[end + 1] = 10;
      this.pos = end + 2;
    }
    this.rows++;
    if (this.pos >= FLUSH_AT) this.flush();
  }

  /**
   * Appends bytes [off, off + len) of b: whole JSONL lines formatted elsewhere (the native HTTP/1
   * row path), `rows` of them. They take the same chunks and writer thread as write()'s rows; b
   * is not kept.
   */
  writeRaw(b: Uint8Array, off: number, len: number, rows = 0): void {
    // The row before them is still in the buffer where it was (these bytes go after it), but the
    // next write() does not copy from it: its copies then never depend on what happened to the
    // buffer in between (costs one row without copies per block).
    if (this.shape) this.shape.prevEnd = -1;
    this.rows += rows;
    while (len > 0) {
      // Fill the buffer up to its size (not past FLUSH_AT only): a large block goes out in
      // chunks of the buffer's length, never growing it.
      const n = Math.min(len, this.buf.length - this.pos);
      this.buf.set(n === b.length && off === 0 ? b : b.subarray(off, off + n), this.pos);
      this.pos += n;
      off += n;
      len -= n;
      if (this.pos >= FLUSH_AT) this.flush();
    }
  }

  /**
   * Writes the row's fields in the shape's key order from this.pos; returns where they end, or
   * -1 (part written) when its keys are not the shape's or a value is not a string, number,
   * boolean, null or array of numbers. One for-in walk both checks the keys and reads the values
   * (V8 reads `r[k]` inside for-in through the enum cache).
   */
  private fields(r: Record<string, unknown>, s: Shape): number {
    const keys = s.keys;
    const preWords = s.preWords;
    const preLen = s.preLen;
    const values = s.values;
    const offsets = s.offsets;
    const rowMax = s.rowMax;
    // Room for every column written as a number; other values make their own room.
    let o = this.room(this.pos, rowMax);
    let b = this.buf;
    let dv = this.view;
    const prevOk = s.prevEnd >= 0;
    // A run of columns equal to the previous row's: their old bytes start at runFrom and move by
    // `shift`; copied when the run ends.
    let runFrom = -1;
    let shift = 0;
    let i = 0;
    for (const k in r) {
      if (k !== keys[i]) return -1;
      const v = r[k];
      if (prevOk && v === values[i]) {
        if (runFrom < 0) {
          runFrom = offsets[i]!;
          shift = o - runFrom;
        }
        offsets[i] = offsets[i]! + shift;
        i++;
        continue;
      }
      if (runFrom >= 0) {
        const len = offsets[i]! - runFrom;
        if (o + len + rowMax > b.length) {
          this.room(o, len + rowMax);
          b = this.buf;
          dv = this.view;
        }
        copyWords(b, dv, runFrom, o, len);
        o += len;
        runFrom = -1;
      }
      offsets[i] = o;
      const plen = preLen[i]!;
      for (let w = i * MAX_WORDS, p = o, e = o + plen; p < e; w++, p += 4) dv.setInt32(p, preWords[w]!, true);
      o += plen;
      if (typeof v === "string") {
        values[i] = v;
        if (i > 0 && v === values[i - 1]) {
          // The previous column's value again (an HTTP row's endpoint is most often its path):
          // its bytes are already in this row.
          const from = offsets[i - 1]! + preLen[i - 1]!;
          const len = offsets[i]! - from;
          if (o + len + rowMax > b.length) {
            this.room(o, len + rowMax);
            b = this.buf;
            dv = this.view;
          }
          copyWords(b, dv, from, o, len);
          o += len;
          i++;
          continue;
        }
        if (o + v.length + rowMax > b.length) {
          this.room(o, v.length + rowMax);
          b = this.buf;
          dv = this.view;
        }
        const e = writePlain(b, o, v);
        if (e >= 0) o = e;
        else {
          const t = JSON.stringify(v);
          this.room(o, t.length * 3 + rowMax);
          b = this.buf;
          dv = this.view;
          o += b.write(t, o, "utf8");
        }
      } else if (typeof v === "number") {
        values[i] = v;
        o = writeNum(b, dv, o, v);
      } else if (typeof v === "boolean") {
        values[i] = v;
        // One call for both values: a call per value left the first `false` after optimization
        // a call without feedback, and a deopt.
        o = writeAscii(b, o, v ? "true" : "false");
      } else if (v === null) {
        values[i] = null;
        o = writeAscii(b, o, "null");
      } else if (Array.isArray(v)) {
        // Arrays of numbers (application metrics' latency buckets); anything else: JSON.stringify.
        values[i] = NONE;
        if (o + v.length * (NUM_MAX + 1) + rowMax > b.length) {
          this.room(o, v.length * (NUM_MAX + 1) + rowMax);
          b = this.buf;
          dv = this.view;
        }
        o = writeNumbers(b, dv, o, v);
        if (o < 0) return -1;
      } else {
        values[i] = NONE;
        return -1;
      }
      i++;
    }
    if (i !== keys.length) return -1;
    if (runFrom >= 0) {
      const len = s.prevEnd - runFrom;
      if (o + len + rowMax > b.length) {
        this.room(o, len + rowMax);
        b = this.buf;
        dv = this.view;
      }
      copyWords(b, dv, runFrom, o, len);
      o += len;
    }
    s.prevEnd = o;
    return o;
  }

  /** Makes room for n more bytes after offset o (growing, never flushing mid-row); returns o. */
  private room(o: number, n: number): number {
    if (o + n > this.buf.length) {
      const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, o + n));
      this.buf.copy(nb, 0, 0, o);
      this.setBuf(nb);
    }
    return o;
  }

  /** Writes the buffered rows, or hands them to the writer thread (then written by close()). */
  flush(): void {
    if (this.pos > 0) {
      if (this.sink === undefined && this.pos >= FLUSH_AT) this.sink = fileSink();
      if (this.sink) this.lastSeq = this.sink.write(this.fd, this.buf, this.pos);
      else {
        let off = 0;
        while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
      }
    }
    this.pos = 0;
    // The previous row's bytes are gone.
    if (this.shape) this.shape.prevEnd = -1;
    // A buffer grown for one huge row goes back to the usual size.
    if (this.buf.length > 4 * FLUSH_AT) this.setBuf(Buffer.allocUnsafe(FLUSH_AT + 65536));
    const f = this.sink?.failure(this.fd);
    if (f) throw failureError(f, this.path);
  }

  private setBuf(b: Buffer): void {
    this.buf = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** Writes what is left, waits for the writer thread's writes of this file, closes it. */
  close(): void {
    let err: unknown;
    try {
      this.flush();
    } catch (e) {
      err = e;
    }
    // Never close the fd with chunks still queued for it (the number could be reused).
    if (this.lastSeq >= 0) {
      const sink = this.sink!;
      sink.wait(this.lastSeq);
      const f = sink.failure(this.fd);
      if (f && err === undefined) err = failureError(f, this.path);
    }
    closeSync(this.fd);
    if (err !== undefined) throw err;
  }
}

let warmed = false;

/**
 * Once per process, before the first real writer: 40 rows of every kind of value (plain, escaped
 * and non-ASCII strings, a column equal to the one before it, small, negative, large and
 * fractional numbers, both booleans, null, arrays, repeats of the previous row) to /dev/null.
 * Why: `fields` and the number writers are optimized on the first few thousand rows of one kind
 * (a capture's first L7 rows). The first L4 row's boolean, a number past the small integers or
 * a string to escape then met code without feedback and deoptimized it: on the Redis-heavy
 * capture, `fields` was compiled 4 times and `writeNum` 3 (~140 ms of compiles on a 2-core
 * machine). The rows of this warm-up are too few to optimize anything themselves.
 */
function warmUpOnce(): void {
  if (warmed) return;
  warmed = true;
  const w = new JsonlWriter(devNull);
  const strs = ["plain", 'a "quoted" \\ one', "ünïcödé", "", "plain"];
  const nums = [0, 7, -3, 2147483647, 4294967295, -2147483648, 1_795_768_662_663_572, 0.25, -0.5, Number.NaN];
  for (let i = 0; i < 40; i++) {
    const s = strs[i % strs.length]!;
    w.write({
      a: s,
      b: s,
      c: nums[i % nums.length]!,
      d: nums[(i * 3) % nums.length]!,
      e: i % 2 === 0,
      f: i % 3 === 0 ? null : s,
      g: [i, nums[i % nums.length]!],
      h: i >> 2,
    });
    if (i % 8 === 7) w.write({ other: i });
  }
  w.close();
}

/** Copies n bytes from an earlier place in the buffer, a word at a time (3 bytes past dst + n may be overwritten). */
function copyWords(b: Buffer, dv: DataView, src: number, dst: number, n: number): void {
  if (n >= COPY_NATIVE) {
    b.copyWithin(dst, src, src + n);
    return;
  }
  for (let e = src + n; src < e; src += 4, dst += 4) dv.setInt32(dst, dv.getInt32(src, true), true);
}
