import { ROW_TABLES, type TRowTableName } from "../rows/index.ts";
import { OWNER_COLUMNS } from "../rows/wire-tsv.ts";
import {
  FIXED_WIDTH,
  LC_STRING,
  TOKEN_BYTE,
  TOKEN_MAX,
  type TWireColumn,
  uuidBytes,
  WIRE_TYPES,
  wireColumnsOf,
} from "./kinds.ts";

/**
 * The controller's side: one agent batch as a Native block, walked once (a header per column, then
 * a bounds check per fixed-width column and one pass over the columns whose values the type alone
 * does not bound), with no row objects. A good block comes back as the insert's bytes: the agent's
 * columns copied as they are, then org_id and agent_id from the credential and the tag id columns.
 * A bad one is refused whole with "row N, column C: reason" or "block: reason" (a binary batch
 * that breaks a rule is an agent's bug, not a value to drop; the TSV path drops bad rows instead).
 */

export type TTagColumn = {
  /** The UInt32 column to write (e.g. client_resource_id). */
  column: string;
  /** The IPv6 column it is computed from (e.g. client_ip). */
  from: string;
  /**
   * 16 bytes per row (a view into the block, not a copy) → one id per row, 0 = none. `column`
   * gives the data of another fixed-width column of the block the same way (e.g. tunnel_id, 4
   * bytes a row little-endian, for the VPC context), undefined when the block does not carry it.
   */
  ids: (ips: Uint8Array, column: (name: string) => Uint8Array | undefined) => Uint32Array;
};

export type TValidateOptions = {
  table: TRowTableName;
  /** From the agent's credential: never from the block. */
  orgId: string;
  agentId: string;
  tags?: readonly TTagColumn[];
  /** Columns the table does not have: left out of the insert (default, as TsvRows does) or refused. */
  unknownColumns?: "skip" | "refuse";
  maxRows?: number;
};

export type TValidated =
  | {
      ok: true;
      /** The block to insert (`INSERT INTO table (columns) FORMAT Native`). */
      payload: Buffer;
      rows: number;
      columns: string[];
      /** Column names and types: payloads with the same signature may be concatenated into one insert. */
      signature: string;
      /** Columns of the block the table does not have, left out. */
      skipped: string[];
    }
  | { ok: false; error: string };

const MAX_COLUMNS = 1024;
const MAX_NAME = 256;
const IDENT = /^[a-z_][a-z0-9_]*$/;

class Refused {
  constructor(readonly message: string) {}
}

/** A cursor over the block that refuses, never reads, past its end. */
class Reader {
  o = 0;
  constructor(readonly b: Uint8Array) {}
  varint(what: string, max: number): number {
    const b = this.b;
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 8; k++) {
      if (this.o >= b.length) throw new Refused(`block: ends inside ${what}`);
      const c = b[this.o++] as number;
      v += (c & 0x7f) * mul;
      if (c < 0x80) {
        if (v > max) throw new Refused(`block: ${what} is ${v}, more than ${max}`);
        return v;
      }
      mul *= 128;
    }
    throw new Refused(`block: ${what} is not a valid length (varint too long)`);
  }
  text(what: string, max: number): string {
    const n = this.varint(`the length of ${what}`, max);
    this.need(n, what);
    const s = Buffer.from(this.b.buffer, this.b.byteOffset + this.o, n).toString("latin1");
    this.o += n;
    return s;
  }
  need(n: number, what: string): void {
    if (n > this.b.length - this.o)
      throw new Refused(`block: ends inside ${what} (${n} bytes needed, ${this.b.length - this.o} left)`);
  }
  u64(what: string): number {
    this.need(8, what);
    const b = this.b;
    const o = this.o;
    this.o += 8;
    const hi =
      (b[o + 4] as number) |
      ((b[o + 5] as number) << 8) |
      ((b[o + 6] as number) << 16) |
      ((b[o + 7] as number) << 24);
    if (hi !== 0) return Number.POSITIVE_INFINITY;
    return (
      ((b[o] as number) |
        ((b[o + 1] as number) << 8) |
        ((b[o + 2] as number) << 16) |
        ((b[o + 3] as number) << 24)) >>>
      0
    );
  }
}

/** A String column of n values: each value a token (or, for an unknown column, anything). */
function walkStrings(r: Reader, n: number, column: string, tokens: boolean): void {
  const b = r.b;
  for (let i = 0; i < n; i++) {
    if (r.o >= b.length) throw new Refused(`row ${i}, column ${column}: block ends inside the value`);
    let len = b[r.o] as number;
    if (len < 0x80) r.o++;
    else len = r.varint(`row ${i}'s ${column}`, 1 << 30);
    if (len > b.length - r.o) throw new Refused(`row ${i}, column ${column}: block ends inside the value`);
    if (tokens) {
      if (len > TOKEN_MAX)
        throw new Refused(
          `row ${i}, column ${column}: expected a lower-case token of at most 32 characters (${len} bytes)`,
        );
      for (let k = r.o; k < r.o + len; k++) {
        if (TOKEN_BYTE[b[k] as number] === 0)
          throw new Refused(
            `row ${i}, column ${column}: expected a lower-case token of at most 32 characters (byte ${b[k]})`,
          );
      }
    }
    r.o += len;
  }
}

/**
 * LowCardinality(String) as ClickHouse writes it in a Native block: version 1, then one granule of
 * flags (index width, has additional keys, update dictionary), the keys, the row count, the indexes.
 */
function walkLowCardinality(r: Reader, n: number, column: string, tokens: boolean): void {
  if (n === 0) return; // an empty block has no column data at all
  if (r.u64(`${column}'s version`) !== 1)
    throw new Refused(`column ${column}: LowCardinality version is not 1`);
  const flags = r.u64(`${column}'s flags`);
  const width = flags & 0xff;
  if ((flags & ~0xff) !== 0x600 || width > 3)
    throw new Refused(
      `column ${column}: LowCardinality flags ${flags} (expected one granule with its own dictionary)`,
    );
  const keys = r.u64(`${column}'s key count`);
  if (keys < 1 || keys > 1 << 24) throw new Refused(`column ${column}: LowCardinality key count ${keys}`);
  walkStrings(r, keys, `${column} (dictionary key)`, tokens);
  const rows = r.u64(`${column}'s row count`);
  if (rows !== n) throw new Refused(`column ${column}: LowCardinality holds ${rows} rows, the block ${n}`);
  const bytes = 1 << width;
  r.need(n * bytes, `${column}'s indexes`);
  const b = r.b;
  const o = r.o;
  // An index type that cannot name a key past the dictionary needs no pass.
  if (2 ** (8 * bytes) > keys) {
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let k = bytes - 1; k >= 0; k--) v = v * 256 + (b[o + i * bytes + k] as number);
      if (v >= keys)
        throw new Refused(`row ${i}, column ${column}: dictionary index ${v}, only ${keys} keys`);
    }
  }
  r.o += n * bytes;
}

/** Skips (and so checks the bounds of) a column of a type the table does not expect there. */
function skipColumn(r: Reader, n: number, name: string, type: string): void {
  const w = FIXED_WIDTH[type];
  if (w !== undefined) {
    r.need(n * w, `column ${name}`);
    r.o += n * w;
  } else if (type === "String") walkStrings(r, n, name, false);
  else if (type === LC_STRING) walkLowCardinality(r, n, name, false);
  else
    throw new Refused(
      `column ${name}: not a column of this table, and of a type (${type}) this reader cannot skip`,
    );
}

/** One pass over a column whose type alone does not bound its values. */
function checkValues(r: Reader, n: number, c: TWireColumn, type: string): void {
  const b = r.b;
  const o = r.o;
  switch (c.kind) {
    case "u64":
    case "time":
      // At most 2^53 - 1: the top 11 bits of each little-endian UInt64 / Int64 are zero.
      for (let i = 0, p = o + 6; i < n; i++, p += 8) {
        if ((b[p + 1] as number) !== 0 || (b[p] as number) > 0x1f) {
          throw new Refused(
            `row ${i}, column ${c.name}: ${(b[p + 1] as number) >= 0x80 && c.kind === "time" ? "a time before 1970" : "more than 2^53 - 1"}`,
          );
        }
      }
      return;
    case "bool":
      for (let i = 0; i < n; i++) {
        if ((b[o + i] as number) > 1)
          throw new Refused(`row ${i}, column ${c.name}: Bool byte ${b[o + i]} (expected 0 or 1)`);
      }
      return;
    case "token":
      if (type === "String") walkStrings(r, n, c.name, true);
      else walkLowCardinality(r, n, c.name, true);
      return;
    default:
      return;
  }
}

type TSpan = { name: string; type: string; start: number; end: number; data: number };

function header(out: Buffer, o: number, name: string, type: string): number {
  out[o++] = name.length;
  o += out.write(name, o, "latin1");
  out[o++] = type.length;
  return o + out.write(type, o, "latin1");
}

function varintTo(out: Buffer, o: number, v: number): number {
  while (v >= 0x80) {
    out[o++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[o++] = v;
  return o;
}

const uuidCache = new Map<string, Buffer>();
function uuidOf(s: string): Buffer | undefined {
  let u = uuidCache.get(s);
  if (u) return u;
  try {
    u = uuidBytes(s);
  } catch {
    return undefined;
  }
  if (uuidCache.size > 4096) uuidCache.clear();
  uuidCache.set(s, u);
  return u;
}

function walk(block: Uint8Array, opts: TValidateOptions): TValidated {
  const def = ROW_TABLES[opts.table];
  if (!def) return { ok: false, error: `block: unknown telemetry table '${opts.table}'` };
  const wire = wireColumnsOf(def);
  const org = uuidOf(opts.orgId);
  const agent = uuidOf(opts.agentId);
  if (!org || !agent) return { ok: false, error: "block: the credential's org and agent ids must be UUIDs" };
  const r = new Reader(block);
  const ncols = r.varint("the column count", MAX_COLUMNS);
  const n = r.varint("the row count", opts.maxRows ?? 1_000_000);
  const kept: TSpan[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  for (let k = 0; k < ncols; k++) {
    const start = r.o;
    const name = r.text(`column ${k}'s name`, MAX_NAME);
    const type = r.text(`column ${name}'s type`, MAX_NAME);
    if (!IDENT.test(name))
      return { ok: false, error: `column ${k}: name ${JSON.stringify(name)} is not a plain identifier` };
    if (seen.has(name)) return { ok: false, error: `column ${name}: named twice` };
    seen.add(name);
    if (OWNER_COLUMNS.includes(name))
      return {
        ok: false,
        error: `column ${name}: a block does not carry org_id or agent_id, the credential decides them`,
      };
    const c = wire.get(name);
    const data = r.o;
    if (!c) {
      if (opts.unknownColumns === "refuse")
        return { ok: false, error: `column ${name}: ${def.name} has no such column` };
      skipColumn(r, n, name, type);
      skipped.push(name);
      continue;
    }
    if (!WIRE_TYPES[c.kind].includes(type))
      return {
        ok: false,
        error: `column ${name}: type ${type}, expected ${WIRE_TYPES[c.kind].join(" or ")}`,
      };
    const w = FIXED_WIDTH[type];
    if (w !== undefined) {
      r.need(n * w, `column ${name}`);
      checkValues(r, n, c, type);
      r.o += n * w;
    } else checkValues(r, n, c, type);
    kept.push({ name, type, start, end: r.o, data });
  }
  if (r.o !== block.length)
    return { ok: false, error: `block: ${block.length - r.o} bytes after its last column` };
  for (const c of wire.values()) {
    if (!c.optional && !seen.has(c.name))
      return { ok: false, error: `block: does not carry column ${c.name}, which ${def.name} rows must have` };
  }

  // The insert: the agent's columns as they are, org_id and agent_id, the tag columns.
  const tags = (opts.tags ?? []).filter((t) => wire.get(t.column)?.kind === "u32");
  const ids: Uint32Array[] = [];
  const column = (name: string): Uint8Array | undefined => {
    const s = kept.find((k) => k.name === name);
    const w = s && FIXED_WIDTH[s.type];
    return s && w !== undefined ? block.subarray(s.data, s.data + n * w) : undefined;
  };
  for (const t of tags) {
    const from = kept.find((s) => s.name === t.from);
    if (from?.type !== "IPv6")
      return { ok: false, error: `block: tag column ${t.column} needs ${t.from} (IPv6)` };
    const got = t.ids(block.subarray(from.data, from.data + n * 16), column);
    if (got.length !== n)
      return {
        ok: false,
        error: `block: tagger for ${t.column} gave ${got.length} ids for ${n} rows (a bug)`,
      };
    ids.push(got);
  }
  let size = 20;
  for (const s of kept) size += s.end - s.start;
  size += 2 * (2 + 6 + 4 + n * 16);
  for (const t of tags) size += 2 + t.column.length + 6 + n * 4;
  const out = Buffer.allocUnsafe(size);
  const appended = tags.filter((t) => !seen.has(t.column));
  let o = varintTo(out, 0, kept.length + 2 + appended.length);
  o = varintTo(out, o, n);
  const columns: string[] = [];
  const types: string[] = [];
  for (const s of kept) {
    out.set(block.subarray(s.start, s.end), o);
    const t = tags.findIndex((x) => x.column === s.name);
    if (t >= 0 && s.type === "UInt32") {
      // The agent's own value stays where the tagger has none (as TsvRows' overrides).
      const v = ids[t] as Uint32Array;
      const at = o + (s.data - s.start);
      for (let i = 0; i < n; i++) if ((v[i] as number) > 0) out.writeUInt32LE(v[i] as number, at + 4 * i);
    }
    o += s.end - s.start;
    columns.push(s.name);
    types.push(s.type);
  }
  for (const [name, id] of [
    ["org_id", org],
    ["agent_id", agent],
  ] as const) {
    o = header(out, o, name, "UUID");
    if (n > 0) out.fill(id, o, o + n * 16);
    o += n * 16;
    columns.push(name);
    types.push("UUID");
  }
  for (const t of appended) {
    o = header(out, o, t.column, "UInt32");
    const v = ids[tags.indexOf(t)] as Uint32Array;
    Buffer.from(v.buffer, v.byteOffset, n * 4).copy(out, o);
    o += n * 4;
    columns.push(t.column);
    types.push("UInt32");
  }
  return {
    ok: true,
    payload: out.subarray(0, o),
    rows: n,
    columns,
    signature: columns.map((c, i) => `${c} ${types[i]}`).join(","),
    skipped,
  };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Checks an agent's block and builds the insert's block; never throws for any input bytes. */
export function validateNativeBlock(block: Uint8Array, opts: TValidateOptions): TValidated {
  if (!LITTLE_ENDIAN) return { ok: false, error: "block: this reader needs a little-endian host" };
  try {
    return walk(block, opts);
  } catch (err) {
    if (err instanceof Refused) return { ok: false, error: err.message };
    // A tagger's own failure, or a bug here: refused, not thrown into the request handler.
    return {
      ok: false,
      error: `block: could not be read (${err instanceof Error ? err.message : String(err)})`,
    };
  }
}
