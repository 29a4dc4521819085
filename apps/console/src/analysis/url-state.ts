/**
 * Every analysis view keeps its range, filters and sort in the URL so a link shows the same
 * thing to a colleague. `range=15m|1h|6h|24h|7d` is relative to now; `from`/`to` (ISO 8601)
 * make it absolute. Filters are repeated `f=<column>~<op>~<value>` (value URI-encoded; `in`
 * and `range` values are comma-separated).
 */

export const RELATIVE_RANGES = {
  "15m": 15 * 60,
  "1h": 3600,
  "6h": 6 * 3600,
  "24h": 86_400,
  "7d": 7 * 86_400,
} as const;
export type RelativeRange = keyof typeof RELATIVE_RANGES;
export const FILTER_OPS = ["eq", "neq", "in", "cidr", "range", "contains"] as const;
export type FilterOp = (typeof FILTER_OPS)[number];
export type UrlFilter = { column: string; op: FilterOp; value: string | number | (string | number)[] };

export type RangeState =
  | { kind: "relative"; range: RelativeRange }
  | { kind: "absolute"; from: string; to: string };

export function readRange(sp: URLSearchParams, fallback: RelativeRange = "1h"): RangeState {
  const from = sp.get("from");
  const to = sp.get("to");
  if (
    from &&
    to &&
    !Number.isNaN(Date.parse(from)) &&
    !Number.isNaN(Date.parse(to)) &&
    Date.parse(to) > Date.parse(from)
  ) {
    return { kind: "absolute", from, to };
  }
  const r = sp.get("range");
  return { kind: "relative", range: r && r in RELATIVE_RANGES ? (r as RelativeRange) : fallback };
}

/** The range in µs since the epoch; relative ranges end at `now` (rounded down to 10 s so queries cache). */
export function rangeMicros(r: RangeState, now = Date.now()): { from: number; to: number } {
  if (r.kind === "absolute") return { from: Date.parse(r.from) * 1000, to: Date.parse(r.to) * 1000 };
  const end = Math.floor(now / 10_000) * 10_000 + 10_000;
  return { from: (end - RELATIVE_RANGES[r.range] * 1000) * 1000, to: end * 1000 };
}

const NUMERIC = /^-?\d+$/;
const asValue = (s: string): string | number => (NUMERIC.test(s) && s.length < 16 ? Number(s) : s);

export function readFilters(sp: URLSearchParams): UrlFilter[] {
  const out: UrlFilter[] = [];
  for (const raw of sp.getAll("f")) {
    const [column, op, ...rest] = raw.split("~");
    const text = rest.join("~");
    if (!column || !op || !(FILTER_OPS as readonly string[]).includes(op)) continue;
    const value =
      op === "in" || op === "range"
        ? text.split(",").map((v) => asValue(v.trim()))
        : op === "cidr" || op === "contains"
          ? text
          : asValue(text);
    out.push({ column, op: op as FilterOp, value });
  }
  return out.slice(0, 32);
}

export function filterToParam(f: UrlFilter): string {
  const v = Array.isArray(f.value) ? f.value.join(",") : String(f.value);
  return `${f.column}~${f.op}~${v}`;
}

/** A copy of `sp` with `changes` applied (undefined deletes; arrays repeat the key). */
export function withParams(
  sp: URLSearchParams,
  changes: Record<string, string | string[] | undefined>,
): string {
  const next = new URLSearchParams(sp);
  for (const [k, v] of Object.entries(changes)) {
    next.delete(k);
    if (Array.isArray(v)) for (const x of v) next.append(k, x);
    else if (v !== undefined && v !== "") next.set(k, v);
  }
  return next.toString();
}

export function rangeParams(r: RangeState): Record<string, string | undefined> {
  return r.kind === "relative"
    ? { range: r.range, from: undefined, to: undefined }
    : { range: undefined, from: r.from, to: r.to };
}
