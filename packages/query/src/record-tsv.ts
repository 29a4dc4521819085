import { OrgScopeError } from "./org-scope.ts";
import type { EncodedRows, RecordResult } from "./record-rows.ts";
import { type Column, ROW_TABLES, type RowTable, type TRowTableName, zUuid } from "./rows/index.ts";
import { fieldKind, fieldValue, OWNER_COLUMNS, type TFieldKind } from "./rows/wire-tsv.ts";
import { loadTsvNative } from "./tsv-native.ts";

/**
 * The controller's side of the compact ingest encoding (rows/wire-tsv.ts): an agent's TSV lines
 * checked field by field and re-encoded straight into the insert payload, bytes to bytes, with no
 * row objects. Each column has a byte-level writer for its common normal form (digits in range, a
 * lower-case UUID, dotted IPv4, a token, ...); any other text goes through the column's own
 * `tsv` and zod schema (the JSON path's checks), which normalise it or give the reason.
 */

/** The batch as a whole cannot be read (400): a column it must have, lines cut short, ... */
export class TsvBatchError extends Error {
  override name = "TsvBatchError";
}

type TWriter = (src: Buffer, s: number, e: number, out: Buffer, o: number) => number;
type TSlot = {
  name: string;
  column: Column;
  /** Index of the field in each line, or -1 when the header does not name the column. */
  field: number;
  optional: boolean;
  fast: TFast | undefined;
  slow: TWriter;
};
type TLine = (
  src: Buffer,
  pos: Int32Array,
  b: number,
  r: number,
  out: Buffer,
  o: number,
  org: Buffer,
  agent: Buffer,
  ov: readonly (Uint32Array | undefined)[],
) => number;
type TPlan = {
  slots: TSlot[];
  line: TLine;
  overrides: string[];
  error: { message: string };
  /** The C writer's program (tsv-native.ts), when every field the header has a fast check for. */
  program: { ops: Int32Array; maxes: Float64Array } | undefined;
};

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
let writers: "native" | "inline" | "closures" = "native";

/**
 * Which form the fast checks take: the C writer over runs of rows (the default, native/tsv-lines.c,
 * when it builds here and the plan has a fast check for every field; else inline), inlined into
 * the plan's line function, or a call to each column's writer function (the reference form the
 * other two are tested against).
 */
export function setTsvWriters(form: "native" | "inline" | "closures"): void {
  writers = form;
}

/** Whether the C writer is in use, or why not (benches print it). */
export function tsvNativeStatus(): string {
  const n = loadTsvNative();
  return typeof n === "string" ? n : "tsv-lines addon loaded";
}

const OPS: Record<string, number> = {
  uint: 4,
  nullUint: 5,
  u64id: 6,
  uuid: 7,
  time: 8,
  ipv4: 9,
  ipOrNone: 10,
  token: 11,
  bool: 12,
};

/** The C writer's program: op, field, optional, override index per column (tsv-lines.c). */
function programOf(slots: TSlot[], overrides: readonly string[]): TPlan["program"] {
  const ops = new Int32Array(slots.length * 4);
  const maxes = new Float64Array(slots.length);
  for (const [k, slot] of slots.entries()) {
    const op =
      slot.name === "org_id"
        ? 1
        : slot.name === "agent_id"
          ? 2
          : slot.fast
            ? (OPS[slot.fast.kind] as number)
            : 3;
    if (op === 3 && slot.field >= 0) return undefined; // a field only the slow path writes
    ops.set([op, slot.field, slot.optional ? 1 : 0, overrides.indexOf(slot.name)], 4 * k);
    maxes[k] = slot.fast?.max ?? 0;
  }
  return { ops, maxes };
}
const plans = new Map<string, TPlan>();
const MAX_PLANS = 256;

function copy(src: Buffer, s: number, e: number, out: Buffer, o: number): number {
  for (let i = s; i < e; i++) out[o++] = src[i] as number;
  return o;
}

/** Decimal digits, no sign, no leading zero, at most `max`. */
function uintWriter(max: number): TWriter {
  return (src, s, e, out, o) => {
    const len = e - s;
    if (len <= 0 || len > 16 || (len > 1 && src[s] === 48)) return -1;
    let v = 0;
    for (let i = s; i < e; i++) {
      const d = (src[i] as number) - 48;
      if (d < 0 || d > 9) return -1;
      v = v * 10 + d;
    }
    return v > max ? -1 : copy(src, s, e, out, o);
  };
}

/** A UInt64 id below 10^19 (longer ones are compared with the maximum by the slow path). */
const u64idWriter: TWriter = (src, s, e, out, o) => {
  if (e <= s || e - s > 19) return -1;
  for (let i = s; i < e; i++) {
    const d = (src[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
  }
  return copy(src, s, e, out, o);
};

function hex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}
const uuidWriter: TWriter = (src, s, e, out, o) => {
  if (e - s !== 36) return -1;
  for (let i = 0; i < 36; i++) {
    const c = src[s + i] as number;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return -1;
    } else if (!hex(c)) return -1;
    out[o + i] = c >= 65 && c <= 70 ? c + 32 : c;
  }
  return o + 36;
};

/**
 * Microseconds → "YYYY-MM-DD hh:mm:ss.ffffff" (the one unambiguous DateTime64 text, see columns.ts).
 * The seconds digits and the last six (the fraction, copied as they are) are read apart, so all the
 * arithmetic stays on small integers (a double's `%` costs several times the whole field); rows of
 * a batch share seconds, so each writer reuses its last second's text. Times before 1970-01-12
 * (fewer than seven digits) and past 2255 are left to the slow path.
 */
function timeWriter(): TWriter {
  let lastSecond = -1;
  const second = Buffer.alloc(19);
  return (src, s, e, out, o) => {
    const len = e - s;
    if (len <= 6 || len > 16 || src[s] === 48) return -1;
    const f = e - 6;
    let sec = 0;
    for (let i = s; i < f; i++) {
      const d = (src[i] as number) - 48;
      if (d < 0 || d > 9) return -1;
      sec = sec * 10 + d;
    }
    for (let i = f; i < e; i++) {
      const d = (src[i] as number) - 48;
      if (d < 0 || d > 9) return -1;
    }
    if (sec >= 9_007_199_254) return -1; // near MAX_SAFE_INTEGER µs: the slow path checks exactly
    if (sec !== lastSecond) {
      const iso = new Date(sec * 1000).toISOString();
      second.write(`${iso.slice(0, 10)} ${iso.slice(11, 19)}`, 0, "latin1");
      lastSecond = sec;
    }
    for (let i = 0; i < 19; i++) out[o + i] = second[i] as number;
    out[o + 19] = 46; // "."
    for (let i = 0; i < 6; i++) out[o + 20 + i] = src[f + i] as number;
    return o + 26;
  };
}

/** Dotted IPv4 in the schema's normal form (no leading zeros); anything else: the slow path. */
const ipv4Writer: TWriter = (src, s, e, out, o) => {
  if (e - s < 7 || e - s > 15) return -1;
  let octets = 0;
  let i = s;
  while (i < e) {
    const start = i;
    let v = 0;
    while (i < e && src[i] !== 46) {
      const d = (src[i] as number) - 48;
      if (d < 0 || d > 9) return -1;
      v = v * 10 + d;
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && src[start] === 48)) return -1;
    octets++;
    if (i < e) {
      i++; // the dot
      if (i === e) return -1;
    }
  }
  return octets === 4 ? copy(src, s, e, out, o) : -1;
};
const optionalIpWriter: TWriter = (src, s, e, out, o) => {
  if (s !== e) return ipv4Writer(src, s, e, out, o);
  out[o] = 58;
  out[o + 1] = 58; // "::"
  return o + 2;
};

/** [a-z0-9_.-]{0,32}: needs no escaping. */
const tokenWriter: TWriter = (src, s, e, out, o) => {
  if (e - s > 32) return -1;
  for (let i = s; i < e; i++) {
    const c = src[i] as number;
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45)) return -1;
  }
  return copy(src, s, e, out, o);
};

const boolWriter: TWriter = (src, s, e, out, o) => {
  const len = e - s;
  if (len === 4 && src[s] === 116 && src[s + 1] === 114 && src[s + 2] === 117 && src[s + 3] === 101)
    return copy(src, s, e, out, o);
  if (len === 5 && src[s] === 102 && src[s + 1] === 97 && src[s + 2] === 108 && src[s + 3] === 115)
    return src[s + 4] === 101 ? copy(src, s, e, out, o) : -1;
  return -1;
};

function nullableWriter(inner: TWriter): TWriter {
  return (src, s, e, out, o) =>
    e - s === 2 && src[s] === 92 && src[s + 1] === 78 ? copy(src, s, e, out, o) : inner(src, s, e, out, o);
}

/** A column's byte-level check, when it is fully known from the type: the writer and its kind. */
type TFast = { kind: string; max: number; writer: TWriter };

function fastOf(c: Column): TFast | undefined {
  const t = c.type;
  const uint = (max: number): TFast => ({ kind: "uint", max, writer: uintWriter(max) });
  if (t === "UInt8") return uint(255);
  if (t === "UInt16") return uint(65_535);
  if (t === "UInt32") return uint(4_294_967_295);
  if (t === "UInt64")
    return fieldKind(c) === "string" ? { kind: "u64id", max: 0, writer: u64idWriter } : uint(MAX_SAFE);
  if (t === "UUID") return { kind: "uuid", max: 0, writer: uuidWriter };
  if (t === "DateTime64(6, 'UTC')") return { kind: "time", max: 0, writer: timeWriter() };
  if (t === "IPv6")
    return c.tsv("") === "::"
      ? { kind: "ipOrNone", max: 0, writer: optionalIpWriter }
      : { kind: "ipv4", max: 0, writer: ipv4Writer };
  if (t === "LowCardinality(String)") return { kind: "token", max: 0, writer: tokenWriter };
  if (t === "Bool") return { kind: "bool", max: 0, writer: boolWriter };
  if (t === "Nullable(Int32)")
    return { kind: "nullUint", max: 2_147_483_647, writer: nullableWriter(uintWriter(2_147_483_647)) };
  return undefined;
}

/**
 * The same checks as the writers above, as code inlined into a plan's line function (one call per
 * row instead of one per field): each either writes the field and leaves block `ok` with `o` past
 * it, or falls through to the column's slow writer having changed nothing but bytes past `o`.
 * Locals: s, e (the field), i, j, c, d, v, n.
 */
function inlineFast(kind: string, max: number, k: number): string {
  const digits = (limit: string) =>
    `n = e - s; if (n > 0 && n <= 16 && (n === 1 || src[s] !== 48)) { v = 0; j = o; for (i = s; i < e; i++) { c = src[i]; d = c - 48; if (d < 0 || d > 9) break; v = v * 10 + d; out[j++] = c; } if (i === e && v <= ${limit}) { o = j; break ok; } }`;
  switch (kind) {
    case "uint":
      return digits(String(max));
    case "nullUint":
      return `if (e - s === 2 && src[s] === 92 && src[s + 1] === 78) { out[o++] = 92; out[o++] = 78; break ok; } ${digits(String(max))}`;
    case "u64id":
      return `n = e - s; if (n > 0 && n <= 19) { j = o; for (i = s; i < e; i++) { c = src[i]; if (c < 48 || c > 57) break; out[j++] = c; } if (i === e) { o = j; break ok; } }`;
    case "uuid":
      return `if (e - s === 36) { for (i = 0; i < 36; i++) { c = src[s + i]; if (i === 8 || i === 13 || i === 18 || i === 23) { if (c !== 45) break; } else if (c >= 97 ? c > 102 : c >= 65 ? c > 70 : c < 48 || c > 57) break; out[o + i] = c >= 65 && c <= 70 ? c + 32 : c; } if (i === 36) { o += 36; break ok; } }`;
    case "time":
      // Seconds and the fraction's six digits read apart (see timeWriter); the second's text is
      // kept per column while rows repeat it.
      return `n = e - s; if (n > 6 && n <= 16 && src[s] !== 48) { v = 0; j = e - 6; for (i = s; i < j; i++) { d = src[i] - 48; if (d < 0 || d > 9) break; v = v * 10 + d; } if (i === j) { for (; i < e; i++) { d = src[i] - 48; if (d < 0 || d > 9) break; } } if (i === e && v < 9007199254) { if (v !== sec${k}) { secondText(v, text${k}); sec${k} = v; } for (i = 0; i < 19; i++) out[o + i] = text${k}[i]; out[o + 19] = 46; j = e - 6; for (i = 0; i < 6; i++) out[o + 20 + i] = src[j + i]; o += 26; break ok; } }`;
    case "ipv4":
    case "ipOrNone": {
      const none = kind === "ipOrNone" ? "if (s === e) { out[o++] = 58; out[o++] = 58; break ok; } " : "";
      // Four parts of 1-3 digits, 0-255, no leading zero, three dots.
      return `${none}n = e - s; if (n >= 7 && n <= 15) { d = 0; v = 0; c = 0; j = o; for (i = s; i < e; i++) { q = src[i]; out[j++] = q; if (q === 46) { if (c === 0 || d === 3) break; d++; c = 0; v = 0; } else if (q >= 48 && q <= 57) { if (c > 0 && v === 0) break; v = v * 10 + q - 48; if (v > 255) break; c++; } else break; } if (i === e && d === 3 && c > 0) { o = j; break ok; } }`;
    }
    case "token":
      return `if (e - s <= 32) { j = o; for (i = s; i < e; i++) { c = src[i]; if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45)) break; out[j++] = c; } if (i === e) { o = j; break ok; } }`;
    case "bool":
      return `n = e - s; if (n === 4 && src[s] === 116 && src[s + 1] === 114 && src[s + 2] === 117 && src[s + 3] === 101) { out[o++] = 116; out[o++] = 114; out[o++] = 117; out[o++] = 101; break ok; } if (n === 5 && src[s] === 102 && src[s + 1] === 97 && src[s + 2] === 108 && src[s + 3] === 115 && src[s + 4] === 101) { out[o++] = 102; out[o++] = 97; out[o++] = 108; out[o++] = 115; out[o++] = 101; break ok; }`;
    default:
      throw new Error(`record-tsv: no inline check for '${kind}' (a bug)`);
  }
}

/** Seconds since 1970 as "YYYY-MM-DD hh:mm:ss" into `to` (19 bytes). */
function secondText(sec: number, to: Buffer): void {
  const iso = new Date(sec * 1000).toISOString();
  to.write(`${iso.slice(0, 10)} ${iso.slice(11, 19)}`, 0, "latin1");
}

/** Texts every fast writer is checked against its column's own checks with, once per plan. */
const SAMPLES = [
  "",
  "0",
  "1",
  "007",
  "255",
  "256",
  "65535",
  "65536",
  "2147483647",
  "2147483648",
  "4294967295",
  "4294967296",
  "9007199254740991",
  "9007199254740993",
  "1764164565123456",
  "1000000",
  "18446744073709551615",
  "-1",
  "1.5",
  "\\N",
  "true",
  "false",
  "tls",
  "TLS",
  "a".repeat(32),
  "a".repeat(33),
  "http-2_x.y",
  "10.0.0.1",
  "255.255.255.255",
  "256.1.1.1",
  "01.2.3.4",
  "1.2.3",
  "1.2.3.4.",
  "::",
  "2001:db8::1",
  "550e8400-e29b-41d4-a716-446655440000",
  "550E8400-E29B-41D4-A716-446655440000",
  "550e8400e29b-41d4-a716-4466554400000",
];

const IDENT = /^[a-z_][a-z0-9_]*$/;

/** Header column name → field index; throws TsvBatchError for a header no line can be read with. */
function checkHeader(def: RowTable, columns: readonly string[]): Map<string, number> {
  const fieldOf = new Map<string, number>();
  columns.forEach((name, i) => {
    if (fieldOf.has(name)) throw new TsvBatchError(`header names column ${name} twice`);
    if (OWNER_COLUMNS.includes(name)) {
      throw new TsvBatchError(
        `header names ${name}: this encoding does not carry org_id or agent_id, the credential decides them`,
      );
    }
    fieldOf.set(name, i); // names the controller does not know (a newer agent's) are skipped
  });
  for (const [name, column] of Object.entries(def.columns)) {
    if (!fieldOf.has(name) && column.ddlDefault === undefined && !OWNER_COLUMNS.includes(name)) {
      throw new TsvBatchError(`header does not name column ${name}, which ${def.name} rows must have`);
    }
  }
  return fieldOf;
}

function planOf(
  def: RowTable,
  columns: readonly string[],
  overrides: readonly string[],
  closures: boolean,
): TPlan {
  const fieldOf = checkHeader(def, columns);
  // Keyed by where each of the table's columns is, not by the header's names: an agent may name
  // columns this controller does not know, as long as it likes (the cache's bound counts plans).
  const at = Object.keys(def.columns).map((name) => fieldOf.get(name) ?? -1);
  const key = `${def.name}|${at.join(",")}|${overrides.join(",")}|${closures}`;
  const cached = plans.get(key);
  if (cached) return cached;
  const error = { message: "" };
  const slots: TSlot[] = [];
  for (const [name, column] of Object.entries(def.columns)) {
    if (!IDENT.test(name)) throw new Error(`column name '${name}' is not a plain identifier`);
    const optional = column.ddlDefault !== undefined;
    const field = fieldOf.get(name) ?? -1;
    const slow = slowWriter(name, column, optional, error);
    let fast = fastOf(column);
    if (fast && optional) {
      const inner = fast.writer;
      fast = { ...fast, writer: (src, s, e, out, o) => (s === e ? o : inner(src, s, e, out, o)) };
    }
    if (fast && !agreesWithColumn(fast.writer, slow)) fast = undefined;
    slots.push({ name, column, field, optional, fast, slow });
  }
  // One function per plan writing a whole line: each column's fast check inlined (or, with
  // `closures`, called as its writer), else its slow writer, else the row is rejected with the
  // column's index (~k).
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return `a${args.length - 1}`;
  };
  const state: string[] = [];
  const steps = slots.map((slot, k) => {
    const sep = k === 0 ? "" : "out[o++] = 9; ";
    if (slot.name === "org_id") return `${sep}for (i = 0; i < 36; i++) out[o++] = org[i];`;
    if (slot.name === "agent_id") return `${sep}for (i = 0; i < 36; i++) out[o++] = agent[i];`;
    const ovIndex = overrides.indexOf(slot.name);
    const ov =
      ovIndex >= 0
        ? `t = ov[${ovIndex}]; if (t !== undefined && t[r] > 0) { o = num(t[r], out, o); } else `
        : "";
    if (slot.field < 0) return `${sep}${ov}{}`;
    const f = slot.field;
    let fast = "";
    if (slot.fast && closures) {
      fast = `x = ${arg(slot.fast.writer)}(src, s, e, out, o); if (x >= 0) { o = x; break ok; }`;
    } else if (slot.fast) {
      if (slot.fast.kind === "time") state.push(`let sec${k} = -1; const text${k} = alloc(19);`);
      fast = `${slot.optional ? "if (s === e) break ok; " : ""}${inlineFast(slot.fast.kind, slot.fast.max, k)}`;
    }
    return `${sep}${ov}{ s = pos[b + ${f}]; e = pos[b + ${f + 1}] - 1; ok: { ${fast} x = ${arg(slot.slow)}(src, s, e, out, o); if (x < 0) return ${~k}; o = x; } }`;
  });
  const body = `${state.join(" ")} return function line(src, pos, b, r, out, o, org, agent, ov) { let s, e, x, t, i, j, c, d, v, n, q; ${steps.join(" ")} out[o++] = 10; return o; };`;
  const line = new Function("alloc", "secondText", "num", ...args.map((_, i) => `a${i}`), body)(
    Buffer.alloc,
    secondText,
    writeNumber,
    ...args,
  ) as TLine;
  const program = programOf(slots, overrides);
  const plan = { slots, line, overrides: [...overrides], error, program };
  // Agents choose the header: an endless variety of column lists must not grow the cache forever.
  if (plans.size >= MAX_PLANS) plans.clear();
  plans.set(key, plan);
  return plan;
}

/** The plan cache (tests): plans held and the characters of their keys. */
export function tsvPlanCache(): { plans: number; keyChars: number } {
  let keyChars = 0;
  for (const k of plans.keys()) keyChars += k.length;
  return { plans: plans.size, keyChars };
}

function writeNumber(v: number, out: Buffer, o: number): number {
  return o + out.write(String(v), o, "latin1");
}

/** Through the column's own checks (the JSON path's): normal form, normalised, or the reason. */
function slowWriter(name: string, c: Column, optional: boolean, error: { message: string }): TWriter {
  const kind: TFieldKind = fieldKind(c);
  return (src, s, e, out, o) => {
    const text = src.toString("utf8", s, e);
    const value = fieldValue(kind, text, optional);
    let t = value === undefined ? "" : c.tsv(value);
    if (t === undefined) {
      const parsed = c.schema.safeParse(value);
      if (!parsed.success) {
        const got = text.length > 64 ? `${text.slice(0, 64)}...` : text;
        error.message = `column ${name}: ${parsed.error.issues[0]?.message ?? "invalid"} (got ${JSON.stringify(got)})`;
        return -1;
      }
      t = parsed.data === undefined ? "" : c.tsv(parsed.data);
      if (t === undefined) {
        error.message = `column ${name}: valid, but its normalised form has no TSV encoding (a bug: report it)`;
        return -1;
      }
    }
    if (Buffer.byteLength(t) > out.length - o) throw new Error("record-tsv: output bound exceeded (a bug)");
    return o + out.write(t, o, "utf8");
  };
}

/** A fast writer must give exactly what the column's checks give for every sample it accepts. */
function agreesWithColumn(fast: TWriter, slow: TWriter): boolean {
  const out = Buffer.alloc(256);
  const ref = Buffer.alloc(256);
  for (const sample of SAMPLES) {
    const src = Buffer.from(sample, "latin1");
    const n = fast(src, 0, src.length, out, 0);
    if (n < 0) continue;
    const m = slow(src, 0, src.length, ref, 0);
    if (m !== n || out.compare(ref, 0, m, 0, n) !== 0) return false;
  }
  return true;
}

/** Field positions of released batches, reused (TsvRows.release). */
const positionPool: Int32Array[] = [];
const POOL_ARRAYS = 16;
const POOL_MAX_LENGTH = 4 << 20; // 16 MiB: a 100 000-row batch of 40 columns
const RELEASED = new Int32Array(0);

function takePositions(length: number): Int32Array {
  if (length === 0) return RELEASED;
  for (let i = positionPool.length - 1; i >= 0; i--) {
    const pos = positionPool[i] as Int32Array;
    if (pos.length >= length) {
      positionPool.splice(i, 1);
      return pos;
    }
  }
  return new Int32Array(length);
}

/** The encoder's scratch output, kept between batches up to SCRATCH_MAX bytes. */
let scratch = Buffer.allocUnsafeSlow(0);
const SCRATCH_MAX = 64 << 20;

/**
 * One compact batch's lines, split once: `pos` holds, per line, where each field starts and (at the
 * end) one past the line's last byte. A line with the wrong number of fields is kept (its row is
 * rejected by index) with `-fields - 1` in place of its first position.
 */
export class TsvRows {
  readonly def: RowTable;
  readonly count: number;
  readonly #src: Buffer;
  readonly #columns: readonly string[];
  #pos: Int32Array;
  readonly #width: number;

  /**
   * `body` from `dataStart` holds exactly `rows` lines of `columns` (the header's). Throws
   * TsvBatchError when the lines are not `rows` lines.
   */
  constructor(
    table: TRowTableName,
    columns: readonly string[],
    body: Buffer,
    dataStart: number,
    rows: number,
  ) {
    const def = ROW_TABLES[table] as RowTable | undefined;
    if (!def) throw new TsvBatchError(`unknown telemetry table '${table}'`);
    checkHeader(def, columns);
    this.def = def;
    this.#src = body;
    this.#columns = columns;
    const n = columns.length;
    const width = n + 1;
    // Each line holds at least n - 1 tabs and a newline: a header claiming more lines than the body
    // can hold is refused before the positions (4 bytes a field) are allocated for them.
    if (body.length - dataStart < rows * n - 1) {
      throw new TsvBatchError(`body is too short for the ${rows} lines of ${n} fields the header says`);
    }
    const pos = takePositions(rows * width);
    const len = body.length;
    let p = dataStart;
    let r = 0;
    const native = writers === "native" && n > 0 ? loadTsvNative() : undefined;
    if (native && typeof native !== "string") {
      const res = new Float64Array(1);
      r = native.split(body, p, rows, n, pos, res);
      p = res[0] as number;
    }
    while (p < len && r < rows) {
      const b = r * width;
      pos[b] = p;
      let k = 0;
      // The line's end by memchr (indexOf), then only tabs to look for in it.
      let i = body.indexOf(10, p);
      if (i < 0) i = len;
      for (let j = p; j < i; j++) {
        if (body[j] === 9) {
          k++;
          if (k < n) pos[b + k] = j + 1;
        }
      }
      if (k + 1 === n) pos[b + n] = i + 1;
      else pos[b] = -(k + 1) - 1;
      r++;
      p = i + 1;
    }
    if (r !== rows || p < len) {
      throw new TsvBatchError(
        r < rows
          ? `body has ${r} lines of rows; the header says ${rows}`
          : `body has more than the ${rows} lines of rows the header says`,
      );
    }
    this.count = rows;
    this.#pos = pos;
    this.#width = width;
  }

  /**
   * Gives the field positions back to the pool for the next batch; this TsvRows cannot be read
   * after. (A batch's positions are ~200 KiB per 1 000 rows: allocating them anew for every batch
   * made the collector run for the external memory alone.) Calling it twice is harmless.
   */
  release(): void {
    if (this.#pos.length === 0) return;
    const pos = this.#pos;
    this.#pos = RELEASED;
    if (positionPool.length < POOL_ARRAYS && pos.length <= POOL_MAX_LENGTH) positionPool.push(pos);
  }

  #positions(): Int32Array {
    if (this.#pos === RELEASED && this.count > 0) throw new Error("TsvRows read after release() (a bug)");
    return this.#pos;
  }

  /** Which header field holds `name`, or -1. */
  fieldIndex(name: string): number {
    return this.#columns.indexOf(name);
  }

  /** The body the lines are in (read with `fieldSpans`). */
  get source(): Buffer {
    return this.#src;
  }

  /**
   * Where field `field` of each line is in `source`: start and end (exclusive) per line, start -1
   * for a malformed line. Tagging reads the addresses from these bytes, without a string per row.
   */
  fieldSpans(field: number): Int32Array {
    const pos = this.#positions();
    const out = new Int32Array(this.count * 2);
    for (let r = 0; r < this.count; r++) {
      const b = r * this.#width;
      if ((pos[b] as number) < 0) {
        out[2 * r] = -1;
        continue;
      }
      out[2 * r] = pos[b + field] as number;
      out[2 * r + 1] = (pos[b + field + 1] as number) - 1;
    }
    return out;
  }

  /** Field `field` of each line as text (undefined for a malformed line): tagging's inputs. */
  fieldTexts(field: number): (string | undefined)[] {
    const pos = this.#positions();
    const out: (string | undefined)[] = new Array(this.count);
    for (let r = 0; r < this.count; r++) {
      const b = r * this.#width;
      const start = pos[b] as number;
      if (start < 0) continue;
      out[r] = this.#src.toString("latin1", pos[b + field] as number, (pos[b + field + 1] as number) - 1);
    }
    return out;
  }

  #shapeError(r: number): string {
    const fields = -(this.#positions()[r * this.#width] as number) - 1;
    return `row ${r}: ${fields} fields, the header names ${this.#columns.length} columns`;
  }

  /**
   * Checks every field and writes the valid rows for `orgId` / `agentId` (from the credential) as
   * TabSeparated in the table's DDL column order, the payload `insertEncoded` takes. `overrides`
   * (e.g. resource tag ids from AutoTagging) replace a column's value where non-zero. Bad rows are
   * reported by index with the column and the reason; the others are kept.
   */
  encode(
    orgId: string,
    agentId: string,
    overrides: ReadonlyMap<string, Uint32Array> = new Map(),
  ): EncodedRows {
    const org = zUuid.safeParse(orgId);
    const agent = zUuid.safeParse(agentId);
    if (!org.success || !agent.success) {
      throw new OrgScopeError("the compact ingest path needs the credential's org and agent ids (UUIDs)");
    }
    const names = [...overrides.keys()].filter((n) => n in this.def.columns).sort();
    const plan = planOf(this.def, this.#columns, names, writers === "closures");
    // (tsv-lines.c takes up to 16 override columns; there are two tag columns today.)
    const native = writers === "native" && plan.program && names.length <= 16 ? loadTsvNative() : undefined;
    const ov = names.map((n) => overrides.get(n));
    const orgBytes = Buffer.from(org.data, "latin1");
    const agentBytes = Buffer.from(agent.data, "latin1");
    const src = this.#src;
    const pos = this.#positions();
    const width = this.#width;
    const fixed = plan.slots.length * 64 + 128;
    // Lines are written into one scratch buffer reused by every batch (encode is synchronous),
    // then copied into a payload of their exact size: one large allocation per batch, not two.
    let out = scratch;
    const first = Math.ceil(src.length * 1.5) + this.count * 96 + fixed;
    if (out.length < first) out = Buffer.allocUnsafeSlow(first);
    let o = 0;
    let written = 0;
    const rejected: RecordResult["rejected"] = [];
    const res = new Float64Array(1);
    for (let r = 0; r < this.count; r++) {
      if (native && typeof native !== "string" && plan.program) {
        // The C writer takes rows until one needs JS (a slow field, a short line, room): that
        // row is written or rejected below, and the C writer goes on from the next.
        const reached = native.encode(
          src,
          pos,
          width,
          r,
          this.count,
          out,
          o,
          plan.program.ops,
          plan.program.maxes,
          orgBytes,
          agentBytes,
          ov,
          res,
        );
        written += reached - r;
        o = res[0] as number;
        r = reached;
        if (r >= this.count) break;
      }
      const b = r * width;
      const start = pos[b] as number;
      if (start < 0) {
        rejected.push({ index: r, error: this.#shapeError(r) });
        continue;
      }
      const bound = ((pos[b + width - 1] as number) - start) * 4 + fixed;
      if (out.length - o < bound) {
        const bigger = Buffer.allocUnsafeSlow(Math.max(out.length * 2, o + bound));
        out.copy(bigger, 0, 0, o);
        out = bigger;
      }
      const next = plan.line(src, pos, b, r, out, o, orgBytes, agentBytes, ov);
      if (next >= 0) {
        o = next;
        written++;
      } else {
        rejected.push({ index: r, error: `row ${r}, ${plan.error.message}` });
      }
    }
    if (out.length <= SCRATCH_MAX) scratch = out;
    const payload = Buffer.allocUnsafeSlow(o);
    out.copy(payload, 0, 0, o);
    return { table: this.def.name as TRowTableName, payload, rows: written, rejected };
  }

  /**
   * The lines as wire row objects (the JSON path's input), for a writer without an encoded path;
   * malformed lines are rejected here by index. Unknown columns are left out, as zod strips them.
   */
  toRows(): { own: { index: number; row: Record<string, unknown> }[]; rejected: RecordResult["rejected"] } {
    const own: { index: number; row: Record<string, unknown> }[] = [];
    const rejected: RecordResult["rejected"] = [];
    const pos = this.#positions();
    const known = this.#columns.map((name) => {
      const c = this.def.columns[name];
      return c ? { name, kind: fieldKind(c), optional: c.ddlDefault !== undefined } : undefined;
    });
    for (let r = 0; r < this.count; r++) {
      const b = r * this.#width;
      if ((pos[b] as number) < 0) {
        rejected.push({ index: r, error: this.#shapeError(r) });
        continue;
      }
      const row: Record<string, unknown> = {};
      known.forEach((k, f) => {
        if (!k) return;
        const text = this.#src.toString("utf8", pos[b + f] as number, (pos[b + f + 1] as number) - 1);
        const v = fieldValue(k.kind, text, k.optional);
        if (v !== undefined) row[k.name] = v;
      });
      own.push({ index: r, row });
    }
    return { own, rejected };
  }
}
