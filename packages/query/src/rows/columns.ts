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
}

function col<S extends z.ZodType>(
  type: string,
  schema: S,
  extra: Omit<Column<S>, "type" | "schema"> = {},
): Column<S> {
  return { type, schema, ...extra };
}

/** Integers arrive as numbers from the agent and as strings for 64-bit values read back. */
function int(min: number, max: number) {
  return z.preprocess(
    (v) => (typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v),
    z.number().int().min(min).max(max),
  );
}

export const u8 = () => col("UInt8", int(0, 255));
export const u16 = () => col("UInt16", int(0, 65_535));
export const u32 = () => col("UInt32", int(0, 4_294_967_295));
/** Counters: safe in JS up to 2^53, far above any flow's bytes. */
export const u64 = () => col("UInt64", int(0, Number.MAX_SAFE_INTEGER));

/** UInt64 identifiers travel as decimal strings: they exceed 2^53. */
export const u64id = () =>
  col(
    "UInt64",
    z.union([z.string(), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).transform(String)]).pipe(
      z
        .string()
        .regex(/^\d{1,20}$/, "expected a UInt64 as a decimal string")
        .refine((s) => BigInt(s) <= 18_446_744_073_709_551_615n, "exceeds UInt64"),
    ),
  );

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Postgres ids (orgs, agents) are UUIDs; lower-cased so comparisons are exact. */
export const zUuid = z
  .string()
  .regex(UUID_RE, "expected a UUID")
  .transform((s) => s.toLowerCase());
export const uuid = () => col("UUID", zUuid);

/**
 * Times are integer microseconds since the Unix epoch on the wire. ClickHouse reads an integer
 * into DateTime64(6) as ticks of its scale, so the insert body carries the number unchanged
 * (verified by test); reads select `toUnixTimestamp64Micro`.
 */
export const timeUs = () =>
  col("DateTime64(6, 'UTC')", int(0, Number.MAX_SAFE_INTEGER), { select: "toUnixTimestamp64Micro({c})" });

const V4_MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;
const zIp = z.union([z.ipv4(), z.ipv6()], { error: "expected an IPv4 or IPv6 address" });
function unmapV4(s: string): string {
  return V4_MAPPED.exec(s)?.[1] ?? s;
}
/**
 * IPv4 and IPv6 share one IPv6 column (IPv4 stored mapped as ::ffff:a.b.c.d, which ClickHouse
 * accepts from IPv4 text); reads give IPv4 text back for mapped addresses.
 */
export const ip = () =>
  col("IPv6", zIp.transform(unmapV4), { decode: (v) => (typeof v === "string" ? unmapV4(v) : v) });
/** An address that may be absent (tunnel endpoints): "" on the wire, `::` in the column. */
export const optionalIp = () =>
  col("IPv6", z.union([z.literal(""), zIp.transform(unmapV4)]), {
    encode: (v) => (v === "" ? "::" : v),
    decode: (v) => (v === "::" ? "" : typeof v === "string" ? unmapV4(v) : v),
  });

/**
 * Enumerations (close_type, l7_protocol, response_status, tunnel_type) are LowCardinality(String):
 * a new value (a new protocol, a new close reason) needs no ALTER, and the known values are
 * exported beside each row for UIs. The wire value is a lower-case token or "" (unknown).
 */
export const token = () =>
  col(
    "LowCardinality(String)",
    z.string().regex(/^[a-z0-9_.-]{0,32}$/, "expected a lower-case token of at most 32 characters"),
  );

/** Free text with a cap, so a runaway payload cannot bloat a row. */
export const text = (max: number) => col("String", z.string().max(max));

export const bool = () =>
  col(
    "Bool",
    z.union([z.boolean(), z.literal(0).transform(() => false), z.literal(1).transform(() => true)]),
  );

/** Absent (e.g. no response) is null; ClickHouse's Nullable costs a byte map, worth it here. */
export const nullableI32 = () => col("Nullable(Int32)", int(-2_147_483_648, 2_147_483_647).nullable());

export const u32Array = (len: number) => col("Array(UInt32)", z.array(int(0, 4_294_967_295)).length(len));

/**
 * A column the agent may omit; ClickHouse fills the DDL default (which may be an expression
 * over other columns). Integer tag ids (SmartEncoding) use this with 0 = none.
 */
export function optional<S extends z.ZodType>(c: Column<S>, ddlDefault: string): Column<z.ZodOptional<S>> {
  // encodeRow skips undefined values, so the inner encoder never sees one.
  return { ...c, schema: c.schema.optional(), ddlDefault } as Column<z.ZodOptional<S>>;
}
