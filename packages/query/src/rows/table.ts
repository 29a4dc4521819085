import { z } from "zod";
import type { Column } from "./columns.ts";

export type Columns = Record<string, Column>;
export type RowSchema<C extends Columns> = z.ZodObject<{ [K in keyof C]: C[K]["schema"] }>;

/** One telemetry table's row: its columns (in DDL order) and the zod schema of its wire form. */
export interface RowTable<C extends Columns = Columns> {
  name: string;
  columns: C;
  schema: RowSchema<C>;
  /** The time that partitions the table and drives its TTL. */
  timeColumn: keyof C & string;
}

export function defineRow<C extends Columns>(
  name: string,
  timeColumn: keyof C & string,
  columns: C,
): RowTable<C> {
  const shape = Object.fromEntries(Object.entries(columns).map(([k, c]) => [k, c.schema]));
  return { name, columns, timeColumn, schema: z.object(shape) as unknown as RowSchema<C> };
}

/** `name Type [DEFAULT expr]` per column, as in the DDL. */
export function columnDefinitions(t: RowTable): { name: string; type: string; ddlDefault?: string }[] {
  return Object.entries(t.columns).map(([name, c]) => ({
    name,
    type: c.type,
    ...(c.ddlDefault !== undefined ? { ddlDefault: c.ddlDefault } : {}),
  }));
}

/** A validated wire row → the object a JSONEachRow insert carries (omitted optionals stay out). */
export function encodeRow(t: RowTable, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, c] of Object.entries(t.columns)) {
    const v = row[name];
    if (v === undefined) continue;
    out[name] = c.encode ? c.encode(v as never) : v;
  }
  return out;
}

/** SELECT list giving every column back in wire form; `prefix` qualifies columns (e.g. "f."). */
export function selectWireColumns(t: RowTable, prefix = ""): string {
  return Object.entries(t.columns)
    .map(([name, c]) => {
      const ref = `${prefix}${name}`;
      return c.select ? `${c.select.replaceAll("{c}", ref)} AS ${name}` : `${ref} AS ${name}`;
    })
    .join(", ");
}

/** A row read with `selectWireColumns` → the wire type, validated. */
export function decodeRow<C extends Columns>(
  t: RowTable<C>,
  raw: Record<string, unknown>,
): z.output<RowSchema<C>> {
  const wire: Record<string, unknown> = { ...raw };
  for (const [name, c] of Object.entries(t.columns)) {
    if (c.decode && name in wire) wire[name] = c.decode(wire[name]);
  }
  return t.schema.parse(wire);
}
