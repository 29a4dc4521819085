import { z } from "zod";
import type { Conditions } from "../common.ts";
import { CURRENT_NAMES_SQL, currentTagsSql, TAG_LEVELS, type TTagRef } from "./resource-tags.ts";

/**
 * The page filter builder: a typed list of (column, op, value) → WHERE conditions whose values are
 * always `{p_n:Type}` placeholders. Columns come from a per-table allow-list (anything else is
 * refused, so a crafted column name never reaches SQL); values are validated for their column's
 * type before being bound.
 */

export const FILTER_OPS = ["eq", "neq", "in", "cidr", "range", "contains"] as const;
export type TFilterOp = (typeof FILTER_OPS)[number];

const scalar = z.union([z.string().max(1024), z.number()]);
export const ZFilter = z.object({
  column: z.string().min(1).max(64),
  op: z.enum(FILTER_OPS),
  value: z.union([scalar, z.array(scalar).max(200)]),
});
export type TFilter = z.infer<typeof ZFilter>;
export const ZFilters = z.array(ZFilter).max(32).default([]);

export type ColumnType = "String" | "IPv6" | "UInt8" | "UInt16" | "UInt32" | "UInt64" | "Int32" | "UUID";

export interface ColumnSpec {
  /** SQL expression (qualified column), fixed text from this module, never user input. */
  sql: string;
  type: ColumnType;
  label: string;
  /** A resource tag of the side whose id `sql` is: matched by current name at query time. */
  tag?: TTagRef;
}

export class FilterError extends Error {
  override name = "FilterError";
}

const NUMERIC: Record<string, [number, number]> = {
  UInt8: [0, 255],
  UInt16: [0, 65_535],
  UInt32: [0, 4_294_967_295],
  UInt64: [0, Number.MAX_SAFE_INTEGER],
  Int32: [-2_147_483_648, 2_147_483_647],
};

const ipText = z.union([z.ipv4(), z.ipv6()]);
const uuid = z.uuid();

function checkValue(type: ColumnType, v: unknown, column: string): string | number {
  if (type === "String") {
    if (typeof v !== "string" && typeof v !== "number") throw new FilterError(`${column}: expected text`);
    return String(v);
  }
  if (type === "IPv6") {
    if (!ipText.safeParse(v).success) throw new FilterError(`${column}: expected an IP address`);
    return v as string;
  }
  if (type === "UUID") {
    if (!uuid.safeParse(v).success) throw new FilterError(`${column}: expected a UUID`);
    return String(v).toLowerCase();
  }
  const range = NUMERIC[type] as [number, number];
  const n = typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < range[0] || n > range[1]) {
    throw new FilterError(`${column}: expected an integer in [${range[0]}, ${range[1]}]`);
  }
  return n;
}

/** IPv4 or IPv6 CIDR → inclusive bounds as IPv6 text (IPv4 mapped, as stored). */
export function cidrBounds(cidr: string): [string, string] {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (!m) throw new FilterError("cidr: expected address/prefix");
  const [, addr = "", bitsText = ""] = m;
  let bits = Number(bitsText);
  let value: bigint;
  if (z.ipv4().safeParse(addr).success) {
    if (bits > 32) throw new FilterError("cidr: IPv4 prefix above 32");
    value = (0xffffn << 32n) | BigInt(addr.split(".").reduce((a, o) => a * 256 + Number(o), 0));
    bits += 96;
  } else if (z.ipv6().safeParse(addr).success) {
    if (bits > 128) throw new FilterError("cidr: IPv6 prefix above 128");
    value = ipv6ToBigInt(addr);
  } else {
    throw new FilterError("cidr: bad address");
  }
  const hostBits = BigInt(128 - bits);
  const mask = ((1n << 128n) - 1n) ^ ((1n << hostBits) - 1n);
  const lo = value & mask;
  const hi = lo | ((1n << hostBits) - 1n);
  return [bigIntToIpv6(lo), bigIntToIpv6(hi)];
}

function ipv6ToBigInt(addr: string): bigint {
  let text = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const n = v4[1].split(".").reduce((a, o) => a * 256 + Number(o), 0);
    text = `${text.slice(0, -v4[1].length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((a, g) => (a << 16n) | BigInt(Number.parseInt(g || "0", 16)), 0n);
}

function bigIntToIpv6(n: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(":");
}

/** Adds each filter to `c` as a bound condition; throws FilterError on anything not allowed. */
export function applyFilters(
  c: Conditions,
  allow: Readonly<Record<string, ColumnSpec>>,
  filters: readonly TFilter[],
): Conditions {
  filters.forEach((f, i) => {
    if (!Object.hasOwn(allow, f.column))
      throw new FilterError(`column '${f.column.slice(0, 64)}' cannot be filtered`);
    const col = allow[f.column] as ColumnSpec;
    const p = `p_${i}`;
    const values = Array.isArray(f.value) ? f.value : [f.value];
    if (col.tag) {
      c.add(...tagCondition(col, col.tag, f, values, p));
      return;
    }
    switch (f.op) {
      case "eq":
      case "neq": {
        if (values.length !== 1) throw new FilterError(`${f.column}: ${f.op} takes one value`);
        const v = checkValue(col.type, values[0], f.column);
        c.add(`${col.sql} ${f.op === "eq" ? "=" : "!="} {${p}:${col.type}}`, { [p]: v });
        break;
      }
      case "in": {
        if (values.length === 0) throw new FilterError(`${f.column}: in takes at least one value`);
        const vs = values.map((v) => checkValue(col.type, v, f.column));
        c.add(`${col.sql} IN {${p}:Array(${col.type})}`, { [p]: vs });
        break;
      }
      case "cidr": {
        if (col.type !== "IPv6" || values.length !== 1)
          throw new FilterError(`${f.column}: cidr needs an IP column and one CIDR`);
        const [lo, hi] = cidrBounds(String(values[0]));
        c.add(`${col.sql} BETWEEN {${p}_lo:IPv6} AND {${p}_hi:IPv6}`, { [`${p}_lo`]: lo, [`${p}_hi`]: hi });
        break;
      }
      case "range": {
        if (!(col.type in NUMERIC) || values.length !== 2)
          throw new FilterError(`${f.column}: range needs a numeric column and [min, max]`);
        const lo = checkValue(col.type, values[0], f.column);
        const hi = checkValue(col.type, values[1], f.column);
        c.add(`${col.sql} BETWEEN {${p}_lo:${col.type}} AND {${p}_hi:${col.type}}`, {
          [`${p}_lo`]: lo,
          [`${p}_hi`]: hi,
        });
        break;
      }
      case "contains": {
        if (col.type !== "String" || values.length !== 1)
          throw new FilterError(`${f.column}: contains needs a text column and one value`);
        c.add(`positionCaseInsensitive(${col.sql}, {${p}:String}) > 0`, { [p]: String(values[0]) });
        break;
      }
    }
  });
  return c;
}

/**
 * A tag filter: the side's resource id must be (or, for neq, must not be) one whose level carries
 * a resource of that current name, or whose labels hold `key=value`. Both lookups are scoped to
 * the caller's org by the same bound {org_id:UUID} as the rows, so another org's names or ids never
 * match (ids are per org and may coincide).
 */
function tagCondition(
  col: ColumnSpec,
  tag: TTagRef,
  f: TFilter,
  values: readonly (string | number)[],
  p: string,
): [string, Record<string, unknown>] {
  const texts = values.map((v) => {
    if (typeof v !== "string" && typeof v !== "number") throw new FilterError(`${f.column}: expected text`);
    return String(v);
  });
  if (texts.length === 0 || (f.op !== "in" && texts.length !== 1))
    throw new FilterError(`${f.column}: ${f.op} takes ${f.op === "in" ? "at least one value" : "one value"}`);
  const not = f.op === "neq" ? "NOT " : "";
  if ("label" in tag) {
    if (f.op !== "eq" && f.op !== "neq" && f.op !== "in")
      throw new FilterError(`${f.column}: labels take eq, neq or in with key=value`);
    const params: Record<string, unknown> = {};
    const match = texts.map((t, j) => {
      const eq = t.indexOf("=");
      if (eq <= 0) throw new FilterError(`${f.column}: expected key=value`);
      params[`${p}_k${j}`] = t.slice(0, eq).trim();
      params[`${p}_v${j}`] = t.slice(eq + 1).trim();
      return `labels[{${p}_k${j}:String}] = {${p}_v${j}:String}`;
    });
    const ids = `SELECT id FROM ${currentTagsSql(["labels"])} WHERE ${match.join(" OR ")}`;
    return [`${col.sql} ${not}IN (${ids})`, params];
  }
  let nameMatch: string;
  let params: Record<string, unknown>;
  switch (f.op) {
    case "eq":
    case "neq":
      nameMatch = `name = {${p}:String}`;
      params = { [p]: texts[0] };
      break;
    case "in":
      nameMatch = `name IN {${p}:Array(String)}`;
      params = { [p]: texts };
      break;
    case "contains":
      nameMatch = `positionCaseInsensitive(name, {${p}:String}) > 0`;
      params = { [p]: texts[0] };
      break;
    default:
      throw new FilterError(`${f.column}: tags take eq, neq, in or contains`);
  }
  const named = `SELECT id FROM ${CURRENT_NAMES_SQL} WHERE ${nameMatch}`;
  const level = TAG_LEVELS[tag.level];
  const ids =
    level === "id" ? named : `SELECT id FROM ${currentTagsSql([level])} WHERE ${level} IN (${named})`;
  return [`${col.sql} ${not}IN (${ids})`, params];
}

/** IPv4-mapped addresses shown as plain IPv4 text (SQL expression over a fixed column). */
export const ipTextSql = (col: string) =>
  `if(startsWith(IPv6NumToString(${col}), '::ffff:') AND position(IPv6NumToString(${col}), '.') > 0, substring(IPv6NumToString(${col}), 8), IPv6NumToString(${col}))`;
