import { ipv6GroupsText } from "@flowplane/core/ipv6-text";
import { ROW_TABLES, type TRowTableName } from "../rows/index.ts";
import { LC_STRING, TIME_TYPE, type TWireColumn, wireColumnsOf } from "./kinds.ts";

/**
 * `encodeNativeBlock` undone: one block an agent wrote → its rows in the agent's wire form (numbers,
 * flow ids as decimal strings, addresses as text: IPv4 dotted, IPv6 in RFC 5952 form, absent tunnel
 * endpoints ""; tokens and booleans as they were). For the agent's spool: a batch kept as a block is
 * sent as TSV or JSON to a controller that does not read Native. Not a validator: it reads blocks of
 * the types `encodeNativeBlock` writes (tokens as LowCardinality or String) and throws
 * NativeDecodeError on anything else or a block cut short. Re-encoding the rows gives the same block.
 */
export class NativeDecodeError extends Error {
  override name = "NativeDecodeError";
}

class Cursor {
  o = 0;
  constructor(readonly b: Buffer) {}
  need(n: number, what: string): number {
    const at = this.o;
    if (at + n > this.b.length) throw new NativeDecodeError(`block ends inside ${what}`);
    this.o += n;
    return at;
  }
  varint(what: string): number {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 8; k++) {
      const c = this.b[this.need(1, what)] as number;
      v += (c & 0x7f) * mul;
      if (c < 0x80) return v;
      mul *= 128;
    }
    throw new NativeDecodeError(`${what}: varint too long`);
  }
  text(what: string): string {
    const n = this.varint(what);
    const at = this.need(n, what);
    return this.b.toString("utf8", at, at + n);
  }
  u64(what: string): number {
    const at = this.need(8, what);
    const hi = this.b.readUInt32LE(at + 4);
    if (hi >= 0x200000) throw new NativeDecodeError(`${what}: above 2^53`);
    return hi * 4294967296 + this.b.readUInt32LE(at);
  }
}

/** Dotted IPv4 text by address: a batch's flows share few addresses. Cleared when it grows past 4096. */
const v4Texts = new Map<number, string>();

/** 16 bytes → the address as text (IPv4-mapped as dotted IPv4; IPv6 with the longest zero run as "::"). */
export function ipText(b: Uint8Array, o: number): string {
  let mapped = b[o + 10] === 255 && b[o + 11] === 255;
  for (let i = 0; mapped && i < 10; i++) if (b[o + i] !== 0) mapped = false;
  if (mapped) {
    const v =
      (((b[o + 12] as number) << 24) |
        ((b[o + 13] as number) << 16) |
        ((b[o + 14] as number) << 8) |
        (b[o + 15] as number)) >>>
      0;
    let t = v4Texts.get(v);
    if (t === undefined) {
      if (v4Texts.size >= 4096) v4Texts.clear();
      t = `${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
      v4Texts.set(v, t);
    }
    return t;
  }
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[o + 2 * i] as number) << 8) | (b[o + 2 * i + 1] as number));
  return ipv6GroupsText(g);
}

function u64idText(b: Buffer, at: number): string {
  const lo = b.readUInt32LE(at);
  const hi = b.readUInt32LE(at + 4);
  return hi < 0x200000 ? String(hi * 4294967296 + lo) : b.readBigUInt64LE(at).toString();
}

/** One column's values, `n` of them, of `type` for the column kind `c`. */
function readColumn(cur: Cursor, c: TWireColumn, type: string, n: number): unknown[] {
  const out = new Array<unknown>(n);
  const b = cur.b;
  const what = `column ${c.name}`;
  const expect = (ok: boolean) => {
    if (!ok) throw new NativeDecodeError(`${what}: type ${type} is not what the encoder writes for it`);
  };
  switch (c.kind) {
    case "u8": {
      expect(type === "UInt8");
      const at = cur.need(n, what);
      for (let i = 0; i < n; i++) out[i] = b[at + i];
      break;
    }
    case "u16": {
      expect(type === "UInt16");
      const at = cur.need(n * 2, what);
      for (let i = 0; i < n; i++) out[i] = (b[at + 2 * i] as number) | ((b[at + 2 * i + 1] as number) << 8);
      break;
    }
    case "u32": {
      expect(type === "UInt32");
      const at = cur.need(n * 4, what);
      for (let i = 0; i < n; i++) out[i] = b.readUInt32LE(at + 4 * i);
      break;
    }
    case "u64":
    case "time":
      expect(type === (c.kind === "time" ? TIME_TYPE : "UInt64"));
      for (let i = 0; i < n; i++) out[i] = cur.u64(what);
      break;
    case "u64id": {
      expect(type === "UInt64");
      const at = cur.need(n * 8, what);
      for (let i = 0; i < n; i++) out[i] = u64idText(b, at + i * 8);
      break;
    }
    case "ip":
    case "optionalIp": {
      expect(type === "IPv6");
      const at = cur.need(n * 16, what);
      const optional = c.kind === "optionalIp";
      for (let i = 0; i < n; i++) {
        const o = at + i * 16;
        let zero = optional;
        for (let k = 0; zero && k < 16; k++) if (b[o + k] !== 0) zero = false;
        out[i] = zero ? "" : ipText(b, o);
      }
      break;
    }
    case "bool": {
      expect(type === "Bool");
      const at = cur.need(n, what);
      for (let i = 0; i < n; i++) out[i] = b[at + i] !== 0;
      break;
    }
    case "token":
      if (type === "String") {
        for (let i = 0; i < n; i++) out[i] = cur.text(what);
        break;
      }
      expect(type === LC_STRING);
      if (n === 0) break;
      {
        if (cur.u64(`${what} version`) !== 1) throw new NativeDecodeError(`${what}: LowCardinality version`);
        const flags = cur.u64(`${what} flags`);
        const width = 2 ** (flags & 0xff);
        if (width > 4) throw new NativeDecodeError(`${what}: index width ${width}`);
        const keys: string[] = [];
        const nkeys = cur.u64(`${what} keys`);
        for (let k = 0; k < nkeys; k++) keys.push(cur.text(what));
        if (cur.u64(`${what} rows`) !== n) throw new NativeDecodeError(`${what}: row count`);
        const at = cur.need(n * width, what);
        for (let i = 0; i < n; i++) {
          const v = keys[b.readUIntLE(at + i * width, width)];
          if (v === undefined) throw new NativeDecodeError(`${what}: index past the dictionary`);
          out[i] = v;
        }
      }
      break;
  }
  return out;
}

const rowMakers = new Map<string, (cols: unknown[][], i: number) => Record<string, unknown>>();

/**
 * One generated object literal per column list: rows built key by key (a keyed store per value)
 * cost about ten times the decode itself on wide L4 rows, one literal per row gives every row the
 * same shape at once.
 */
function rowMaker(names: readonly string[]): (cols: unknown[][], i: number) => Record<string, unknown> {
  const key = names.join(",");
  let make = rowMakers.get(key);
  if (!make) {
    // The names are columns of the table (checked by the caller), plain identifiers.
    const fields = names.map((n, k) => `${n}: cols[${k}][i]`).join(", ");
    make = new Function("cols", "i", `return { ${fields} };`) as (
      cols: unknown[][],
      i: number,
    ) => Record<string, unknown>;
    rowMakers.set(key, make);
  }
  return make;
}

/** The rows of one block of `table` (org_id and agent_id are never in an agent's block). */
export function decodeNativeBlock(table: TRowTableName, block: Buffer): Record<string, unknown>[] {
  const wire = wireColumnsOf(ROW_TABLES[table]);
  const cur = new Cursor(block);
  const ncols = cur.varint("column count");
  const n = cur.varint("row count");
  // Every column takes at least a byte a row: a count the bytes cannot hold is refused before any
  // array of that length (a corrupt spool file saying 0 columns and 2^32 rows would build them all).
  if (n > 0 && (ncols === 0 || n > block.length - cur.o))
    throw new NativeDecodeError(
      `row count ${n}: ${ncols} columns in ${block.length - cur.o} bytes cannot hold it`,
    );
  const names: string[] = [];
  const cols: unknown[][] = [];
  for (let k = 0; k < ncols; k++) {
    const name = cur.text("column name");
    const type = cur.text(`column ${name} type`);
    const c = wire.get(name);
    if (!c || names.includes(name))
      throw new NativeDecodeError(`column ${name}: not a column an agent writes in ${table}, or twice`);
    names.push(name);
    cols.push(readColumn(cur, c, type, n));
  }
  if (cur.o !== block.length) throw new NativeDecodeError(`${block.length - cur.o} bytes after the block`);
  const make = rowMaker(names);
  const rows = new Array<Record<string, unknown>>(n);
  for (let i = 0; i < n; i++) rows[i] = make(cols, i);
  return rows;
}
