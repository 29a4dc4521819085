import { ROW_TABLES, type TRowTableName } from "../rows/index.ts";
import { LC_STRING, TOKEN_BYTE, TOKEN_MAX, type TWireColumn, WIRE_TYPES, wireColumnsOf } from "./kinds.ts";

/**
 * The agent's side: row objects (as the agent builds them for the TSV exporter: numbers, flow ids
 * as decimal strings or numbers, addresses as text, tokens, booleans) → one ClickHouse Native
 * block. The agent writes only what fits each column's wire type and throws NativeEncodeError for
 * anything else (its own bug: the TSV path would send it and have the controller reject the row).
 */
export class NativeEncodeError extends Error {
  override name = "NativeEncodeError";
}

export type TEncodeOptions = {
  /** Columns to write, in this order; default: every required column and the optional ones any row has. */
  columns?: readonly string[];
  /** Tokens as LowCardinality(String) (default) or plain String. */
  tokens?: "lowCardinality" | "string";
  /**
   * Bytes to put before the block in the same buffer (a batch's header line): the result is
   * `prefix` then the block, written once, with no copy to prepend it.
   */
  prefix?: Uint8Array;
};

type TColumnWriter = (rows: readonly Record<string, unknown>[], w: Writer) => void;

class Writer {
  buf: Buffer;
  o = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  room(n: number): void {
    if (this.o + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.o + n));
    this.buf.copy(bigger, 0, 0, this.o);
    this.buf = bigger;
  }
  varint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.o++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.o++] = v;
  }
  text(s: string): void {
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.room(n);
    this.o += this.buf.write(s, this.o, "utf8");
  }
}

function fail(row: number, column: string, reason: string): never {
  throw new NativeEncodeError(`row ${row}, column ${column}: ${reason}`);
}

/** An address as text → 16 bytes (IPv4 as ::ffff:a.b.c.d), or false. */
export function writeIp(s: string, out: Uint8Array, o: number): boolean {
  const n = s.length;
  if (n >= 7 && n <= 15 && s.indexOf(":") < 0) {
    for (let i = 0; i < 10; i++) out[o + i] = 0;
    out[o + 10] = 255;
    out[o + 11] = 255;
    return v4(s, 0, n, out, o + 12);
  }
  return v6(s, out, o);
}

function v4(s: string, from: number, to: number, out: Uint8Array, o: number): boolean {
  let part = 0;
  let v = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3) return false;
      out[o + part++] = v;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && v === 0) return false; // a leading zero
      v = v * 10 + c - 48;
      if (v > 255 || ++digits > 3) return false;
    } else return false;
  }
  if (digits === 0 || part !== 3) return false;
  out[o + 3] = v;
  return true;
}

function v6(s: string, out: Uint8Array, o: number): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (s.startsWith("::")) {
    gap = 0;
    i = 2;
  } else if (s[0] === ":") return false;
  while (i < s.length) {
    let j = i;
    let v = 0;
    while (j < s.length && j - i < 5) {
      const c = s.charCodeAt(j);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      v = v * 16 + d;
      j++;
    }
    if (j < s.length && s[j] === ".") {
      // An embedded IPv4 ends the address.
      if (groups.length > 6) return false;
      const tail = new Uint8Array(4);
      if (!v4(s, i, s.length, tail, 0)) return false;
      groups.push(
        ((tail[0] as number) << 8) | (tail[1] as number),
        ((tail[2] as number) << 8) | (tail[3] as number),
      );
      i = s.length;
      break;
    }
    if (j === i || j - i > 4) return false;
    groups.push(v);
    i = j;
    if (i === s.length) break;
    if (s[i] !== ":") return false;
    if (s[i + 1] === ":") {
      if (gap >= 0) return false;
      gap = groups.length;
      i += 2;
    } else {
      i++;
      if (i === s.length) return false;
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return false;
  const full =
    gap < 0
      ? groups
      : [...groups.slice(0, gap), ...new Array(8 - groups.length).fill(0), ...groups.slice(gap)];
  for (let k = 0; k < 8; k++) {
    out[o + 2 * k] = (full[k] as number) >> 8;
    out[o + 2 * k + 1] = (full[k] as number) & 255;
  }
  return true;
}

const U64_MAX = 18446744073709551615n;

function u64id(v: unknown, out: Buffer, o: number): boolean {
  let lo: number;
  let hi: number;
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) return false;
    lo = v >>> 0;
    hi = (v - lo) / 4294967296;
  } else if (typeof v === "string" && v.length > 0 && v.length <= 20) {
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 48 || c > 57) return false;
    }
    if (v.length <= 15) {
      const n = Number(v);
      lo = n >>> 0;
      hi = (n - lo) / 4294967296;
    } else {
      const b = BigInt(v);
      if (b > U64_MAX) return false;
      lo = Number(b & 0xffffffffn);
      hi = Number(b >> 32n);
    }
  } else return false;
  out.writeUInt32LE(lo, o);
  out.writeUInt32LE(hi, o + 4);
  return true;
}

/** The value for a row that omits an optional column: its DDL default when that is a number. */
function literalDefault(c: TWireColumn): number | undefined {
  return c.ddlDefault !== undefined && /^\d+$/.test(c.ddlDefault) ? Number(c.ddlDefault) : undefined;
}

const writers = new Map<string, TColumnWriter>();

/**
 * One generated loop per column (the property read by name, so each access site sees the rows'
 * one shape). Fixed-width values are written byte by byte into the block.
 */
function writerOf(c: TWireColumn, tokens: "lowCardinality" | "string"): TColumnWriter {
  const key = `${c.name}|${c.kind}|${tokens}|${c.ddlDefault ?? ""}`;
  let w = writers.get(key);
  if (w) return w;
  const def = literalDefault(c);
  const missing = c.optional && def !== undefined ? `v = ${def};` : `fail(i, "${c.name}", "no value");`;
  const get = `let v = rows[i].${c.name}; if (v === undefined) { ${missing} }`;
  const int = (bytes: number, max: number) =>
    `w.room(n * ${bytes}); const b = w.buf; let o = w.o; for (let i = 0; i < n; i++) { ${get} if (typeof v !== "number" || !(v >= 0 && v <= ${max}) || v !== Math.floor(v)) fail(i, "${c.name}", "expected an integer 0-${max} (got " + JSON.stringify(v) + ")"); ${
      bytes === 1
        ? "b[o++] = v;"
        : bytes === 2
          ? "b[o++] = v & 255; b[o++] = v >>> 8;"
          : bytes === 4
            ? "b[o++] = v & 255; b[o++] = (v >>> 8) & 255; b[o++] = (v >>> 16) & 255; b[o++] = v >>> 24;"
            : "const lo = v >>> 0; const hi = (v - lo) / 4294967296; b[o++] = lo & 255; b[o++] = (lo >>> 8) & 255; b[o++] = (lo >>> 16) & 255; b[o++] = lo >>> 24; b[o++] = hi & 255; b[o++] = (hi >>> 8) & 255; b[o++] = (hi >>> 16) & 255; b[o++] = 0;"
    } } w.o = o;`;
  let body: string;
  switch (c.kind) {
    case "u8":
      body = int(1, 255);
      break;
    case "u16":
      body = int(2, 65535);
      break;
    case "u32":
      body = int(4, 4294967295);
      break;
    case "u64":
    case "time":
      body = int(8, Number.MAX_SAFE_INTEGER);
      break;
    case "u64id":
      body = `w.room(n * 8); for (let i = 0; i < n; i++) { ${get} if (!u64id(v, w.buf, w.o)) fail(i, "${c.name}", "expected a UInt64 (got " + JSON.stringify(v) + ")"); w.o += 8; }`;
      break;
    case "ip":
    case "optionalIp":
      body = `w.room(n * 16); for (let i = 0; i < n; i++) { ${get} if (typeof v !== "string" || !(${c.kind === "optionalIp" ? 'v === "" ? (w.buf.fill(0, w.o, w.o + 16), true) : ' : ""}writeIp(v, w.buf, w.o))) fail(i, "${c.name}", "expected an IP address (got " + JSON.stringify(v) + ")"); w.o += 16; }`;
      break;
    case "bool":
      body = `w.room(n); const b = w.buf; let o = w.o; for (let i = 0; i < n; i++) { ${get} if (v === true || v === 1) b[o++] = 1; else if (v === false || v === 0) b[o++] = 0; else fail(i, "${c.name}", "expected a boolean (got " + JSON.stringify(v) + ")"); } w.o = o;`;
      break;
    case "token": {
      const check = `if (typeof v !== "string" || !isToken(v)) fail(i, "${c.name}", "expected a lower-case token of at most 32 characters (got " + JSON.stringify(v) + ")");`;
      body =
        tokens === "string"
          ? `for (let i = 0; i < n; i++) { ${get} ${check} w.room(1 + v.length); w.buf[w.o++] = v.length; w.o += w.buf.write(v, w.o, "latin1"); }`
          : // LowCardinality: version 1 (shared dictionaries with additional keys), then one granule:
            // flags (UInt8 indexes, has additional keys, needs a dictionary update), the keys as a
            // String column, the row count and one index per row.
            `const keys = new Map([["", 0]]); const idx = new Uint8Array(n); for (let i = 0; i < n; i++) { ${get} ${check} let k = keys.get(v); if (k === undefined) { k = keys.size; if (k > 255) fail(i, "${c.name}", "more than 256 distinct values in one block"); keys.set(v, k); } idx[i] = k; }
             w.room(24); w.buf.writeUInt32LE(1, w.o); w.buf.writeUInt32LE(0, w.o + 4); w.buf.writeUInt32LE(0x600, w.o + 8); w.buf.writeUInt32LE(0, w.o + 12); w.buf.writeUInt32LE(keys.size, w.o + 16); w.buf.writeUInt32LE(0, w.o + 20); w.o += 24;
             for (const k of keys.keys()) { w.room(1 + k.length); w.buf[w.o++] = k.length; w.o += w.buf.write(k, w.o, "latin1"); }
             w.room(8 + n); w.buf.writeUInt32LE(n, w.o); w.buf.writeUInt32LE(0, w.o + 4); w.o += 8; w.buf.set(idx, w.o); w.o += n;`;
      break;
    }
  }
  w = new Function(
    "fail",
    "u64id",
    "writeIp",
    "isToken",
    `return function column(rows, w) { const n = rows.length; ${body} };`,
  )(fail, u64id, writeIp, isToken) as TColumnWriter;
  writers.set(key, w);
  return w;
}

function isToken(s: string): boolean {
  if (s.length > TOKEN_MAX) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || TOKEN_BYTE[c] === 0) return false;
  }
  return true;
}

/**
 * The bytes a column of `n` rows takes (exact for fixed widths; a token column's dictionary is
 * guessed small and grows the writer in the rare block where it is not).
 */
function columnBytes(c: TWireColumn, n: number, tokens: "lowCardinality" | "string"): number {
  switch (c.kind) {
    case "u8":
    case "bool":
      return n;
    case "u16":
      return 2 * n;
    case "u32":
      return 4 * n;
    case "u64":
    case "u64id":
    case "time":
      return 8 * n;
    case "ip":
    case "optionalIp":
      return 16 * n;
    case "token":
      return tokens === "string" ? 9 * n : 32 + n + 16 * 12;
  }
}

/** `rows` of `table` as one Native block (column count, row count, then each column). */
export function encodeNativeBlock(
  table: TRowTableName,
  rows: readonly Record<string, unknown>[],
  opts: TEncodeOptions = {},
): Buffer {
  const wire = wireColumnsOf(ROW_TABLES[table]);
  const tokens = opts.tokens ?? "lowCardinality";
  const names =
    opts.columns ??
    [...wire.values()]
      .filter((c) => !c.optional || rows.some((r) => r[c.name] !== undefined))
      .map((c) => c.name);
  const prefix = opts.prefix ?? new Uint8Array(0);
  let size = prefix.length + 20;
  for (const name of names) {
    const c = wire.get(name);
    if (c) size += 10 + name.length + 24 + columnBytes(c, rows.length, tokens);
  }
  const w = new Writer(size);
  w.buf.set(prefix, 0);
  w.o = prefix.length;
  w.varint(names.length);
  w.varint(rows.length);
  for (const name of names) {
    const c = wire.get(name);
    if (!c) throw new NativeEncodeError(`column ${name}: not a column an agent writes in ${table}`);
    w.text(name);
    w.text(c.kind === "token" && tokens === "string" ? "String" : (WIRE_TYPES[c.kind][0] as string));
    if (rows.length > 0) writerOf(c, tokens)(rows, w);
  }
  return w.buf.subarray(0, w.o);
}

export { LC_STRING };
