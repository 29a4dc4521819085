import { z } from "zod";

/**
 * Column kinds shared by every telemetry row. Each kind knows its ClickHouse type, the zod schema
 * of its JSON wire form (what the agent writes, keys = column names), how it is encoded for an
 * insert and how a value read back is decoded to the same wire form. Read and write rows are
 * therefore the same TypeScript type.
 */
export interface Column<S extends z.ZodType = z.ZodType> {
  /** ClickHouse type used in the DDL. */
  type: string;
  /** Wire form, as the agent emits it. */
  schema: S;
  /** Wire value → what the JSONEachRow insert body carries. */
  encode?: (v: z.output<S>) => unknown;
  /** SQL expression that reads the column back in wire form (`{c}` is the column). */
  select?: string;
  /** JSON value read back (after `select`) → wire value, before the schema runs. */
  decode?: (v: unknown) => unknown;
  /** DDL default; with one the wire key may be omitted. */
  ddlDefault?: string;
  /**
   * The value as a TabSeparated field (the bulk insert form) when it is already in the form the
   * schema outputs, else undefined: the row then goes through `schema`, which rejects it with a
   * reason or normalises it. Checks exactly what the schema checks, without building issues, so
   * valid rows of a big batch skip zod. Every schema output must be accepted.
   */
  tsv: (v: unknown) => string | undefined;
}

function col<S extends z.ZodType>(
  type: string,
  schema: S,
  tsv: (v: unknown) => string | undefined,
  extra: Omit<Column<S>, "type" | "schema" | "tsv"> = {},
): Column<S> {
  return { type, schema, tsv, ...extra };
}

/** TabSeparated escaping (ClickHouse reads back exactly these sequences). */
const TSV_SPECIAL = /[\\\t\n\r\0\b\f]/;
export function escapeTsv(s: string): string {
  if (!TSV_SPECIAL.test(s)) return s;
  let out = "";
  for (const ch of s) {
    if (ch === "\\") out += "\\\\";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\0") out += "\\0";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else out += ch;
  }
  return out;
}

function intTsv(min: number, max: number) {
  return (v: unknown) =>
    typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? String(v) : undefined;
}

/** Integers arrive as numbers from the agent and as strings for 64-bit values read back. */
function int(min: number, max: number) {
  return z.preprocess(
    (v) => (typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v),
    z.number().int().min(min).max(max),
  );
}

export const u8 = () => col("UInt8", int(0, 255), intTsv(0, 255));
export const u16 = () => col("UInt16", int(0, 65_535), intTsv(0, 65_535));
export const u32 = () => col("UInt32", int(0, 4_294_967_295), intTsv(0, 4_294_967_295));
/** Counters: safe in JS up to 2^53, far above any flow's bytes. */
export const u64 = () => col("UInt64", int(0, Number.MAX_SAFE_INTEGER), intTsv(0, Number.MAX_SAFE_INTEGER));

const U64_TEXT = /^\d{1,20}$/;
const U64_MAX = 18_446_744_073_709_551_615n;

/** UInt64 identifiers travel as decimal strings: they exceed 2^53. */
export const u64id = () =>
  col(
    "UInt64",
    z.union([z.string(), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).transform(String)]).pipe(
      z
        .string()
        .regex(/^\d{1,20}$/, "expected a UInt64 as a decimal string")
        // zod runs refinements after a failed regex too: BigInt("1e3") would throw, not reject.
        .refine((s) => !U64_TEXT.test(s) || BigInt(s) <= U64_MAX, "exceeds UInt64"),
    ),
    (v) => {
      if (typeof v === "string")
        return U64_TEXT.test(v) && (v.length < 20 || BigInt(v) <= U64_MAX) ? v : undefined;
      return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER
        ? String(v)
        : undefined;
    },
  );

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Postgres ids (orgs, agents) are UUIDs; lower-cased so comparisons are exact. */
export const zUuid = z
  .string()
  .regex(UUID_RE, "expected a UUID")
  .transform((s) => s.toLowerCase());
export const uuid = () =>
  col("UUID", zUuid, (v) => (typeof v === "string" && UUID_RE.test(v) ? v.toLowerCase() : undefined));

/**
 * Times are integer microseconds since the Unix epoch on the wire. ClickHouse reads an integer
 * into DateTime64(6) as ticks of its scale, so the insert body carries the number unchanged
 * (verified by test); reads select `toUnixTimestamp64Micro`.
 */
export const timeUs = () =>
  col("DateTime64(6, 'UTC')", int(0, Number.MAX_SAFE_INTEGER), timeUsTsv(), {
    select: "toUnixTimestamp64Micro({c})",
  });

/**
 * TabSeparated reads numbers into DateTime64 by heuristics (a short one is a date, a long one
 * ticks): the one unambiguous text is the full "YYYY-MM-DD hh:mm:ss.ffffff" in the column's UTC
 * (checked by test). Rows of a batch share seconds: each column reuses its last second's text.
 */
function timeUsTsv(): (v: unknown) => string | undefined {
  let lastSecond = Number.NaN;
  let lastSecondText = "";
  return (v) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER)
      return undefined;
    const micros = v % 1_000_000;
    const second = (v - micros) / 1_000_000;
    if (second !== lastSecond) {
      const iso = new Date(second * 1000).toISOString(); // 2026-11-26T13:42:45.000Z
      lastSecondText = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
      lastSecond = second;
    }
    return `${lastSecondText}.${String(micros).padStart(6, "0")}`;
  };
}

const V4_MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;
const zIp = z.union([z.ipv4(), z.ipv6()], { error: "expected an IPv4 or IPv6 address" });
function unmapV4(s: string): string {
  return V4_MAPPED.exec(s)?.[1] ?? s;
}
const zIpv6 = z.ipv6();
const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;
/** An address as the schema outputs it (IPv4 text, or IPv6 that is not v4-mapped), else undefined. */
function ipTsv(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  if (IPV4_RE.test(v)) return v;
  return !V4_MAPPED.test(v) && zIpv6.safeParse(v).success ? v : undefined;
}
/**
 * IPv4 and IPv6 share one IPv6 column (IPv4 stored mapped as ::ffff:a.b.c.d, which ClickHouse
 * accepts from IPv4 text); reads give IPv4 text back for mapped addresses.
 */
export const ip = () =>
  col("IPv6", zIp.transform(unmapV4), ipTsv, {
    decode: (v) => (typeof v === "string" ? unmapV4(v) : v),
  });
/** An address that may be absent (tunnel endpoints): "" on the wire, `::` in the column. */
export const optionalIp = () =>
  col("IPv6", z.union([z.literal(""), zIp.transform(unmapV4)]), (v) => (v === "" ? "::" : ipTsv(v)), {
    encode: (v) => (v === "" ? "::" : v),
    decode: (v) => (v === "::" ? "" : typeof v === "string" ? unmapV4(v) : v),
  });

/**
 * Enumerations (close_type, l7_protocol, response_status, tunnel_type) are LowCardinality(String):
 * a new value (a new protocol, a new close reason) needs no ALTER, and the known values are
 * exported beside each row for UIs. The wire value is a lower-case token or "" (unknown).
 */
const TOKEN_RE = /^[a-z0-9_.-]{0,32}$/;
export const token = () =>
  col(
    "LowCardinality(String)",
    z.string().regex(TOKEN_RE, "expected a lower-case token of at most 32 characters"),
    // The token alphabet needs no escaping.
    (v) => (typeof v === "string" && TOKEN_RE.test(v) ? v : undefined),
  );

/** Free text with a cap, so a runaway payload cannot bloat a row. */
export const text = (max: number) =>
  col("String", z.string().max(max), (v) =>
    typeof v === "string" && v.length <= max ? escapeTsv(v) : undefined,
  );

export const bool = () =>
  col(
    "Bool",
    z.union([z.boolean(), z.literal(0).transform(() => false), z.literal(1).transform(() => true)]),
    (v) => (v === true || v === 1 ? "true" : v === false || v === 0 ? "false" : undefined),
  );

/** Absent (e.g. no response) is null; ClickHouse's Nullable costs a byte map, worth it here. */
const i32Tsv = intTsv(-2_147_483_648, 2_147_483_647);
export const nullableI32 = () =>
  col("Nullable(Int32)", int(-2_147_483_648, 2_147_483_647).nullable(), (v) =>
    v === null ? "\\N" : i32Tsv(v),
  );

const u32Tsv = intTsv(0, 4_294_967_295);
export const u32Array = (len: number) =>
  col("Array(UInt32)", z.array(int(0, 4_294_967_295)).length(len), (v) => {
    if (!Array.isArray(v) || v.length !== len) return undefined;
    const items: string[] = [];
    for (const x of v) {
      const t = u32Tsv(x);
      if (t === undefined) return undefined;
      items.push(t);
    }
    return `[${items.join(",")}]`;
  });

/**
 * A column the agent may omit; ClickHouse fills the DDL default (which may be an expression
 * over other columns). Integer tag ids (SmartEncoding) use this with 0 = none.
 */
export function optional<S extends z.ZodType>(c: Column<S>, ddlDefault: string): Column<z.ZodOptional<S>> {
  // encodeRow skips undefined values, so the inner encoder never sees one. An omitted value is an
  // empty field, which the insert reads as the DDL default (input_format_tsv_empty_as_default):
  // every optional column is numeric or Bool, so "" is never a value of its own.
  const tsv = (v: unknown) => (v === undefined ? "" : c.tsv(v));
  return { ...c, schema: c.schema.optional(), ddlDefault, tsv } as Column<z.ZodOptional<S>>;
}
