import { z } from "zod";

/** A time range in µs since the epoch, `from` inclusive, `to` exclusive (spread into params). */
export const timeRangeShape = {
  from: z.number().int().nonnegative(),
  to: z.number().int().positive(),
};
export const rangeIsOrdered = [
  (r: { from: number; to: number }) => r.to > r.from,
  "`to` must be after `from`",
] as const;

export const ZLimit = z.number().int().min(1).max(10_000).default(100);
export const ZIpText = z.union([z.ipv4(), z.ipv6()]);
export const ZPort = z.number().int().min(0).max(65_535);

/** Keyset cursor: the sort key of the last row returned, opaque to callers. */
export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString("base64url");
}

export function decodeCursor(cursor: string, arity: number): (string | number)[] {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new Error("invalid cursor");
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== arity ||
    !parts.every((p) => typeof p === "number" || (typeof p === "string" && /^\d{1,20}$/.test(p)))
  ) {
    throw new Error("invalid cursor");
  }
  return parts as (string | number)[];
}

/** Collects WHERE conditions with their bound parameters; never splices a value. */
export class Conditions {
  readonly sql: string[] = [];
  readonly params: Record<string, unknown> = {};
  add(condition: string, params: Record<string, unknown> = {}): this {
    this.sql.push(condition);
    Object.assign(this.params, params);
    return this;
  }
  where(): string {
    return this.sql.join(" AND ");
  }
}
