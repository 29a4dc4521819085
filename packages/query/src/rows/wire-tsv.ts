/**
 * The compact ingest encoding's rows (docs/agent-protocol.md, "Ingest wire format"): one
 * TabSeparated line per row, fields in ClickHouse's TSV escaping, values in their wire form as
 * text (integers and microsecond times as decimals, booleans true/false, null as \N, arrays as
 * [1,2]). An empty field is an omitted optional column. The agent encodes with `encodeTsvLines`;
 * the controller validates each field against its column (record-tsv.ts) and, where it has to,
 * turns a field back into its wire value with `fieldValue`.
 */
import { type Column, escapeTsv } from "./columns.ts";
import type { RowTable } from "./table.ts";

/** Columns the credential decides: never on the wire in this encoding. */
export const OWNER_COLUMNS: readonly string[] = ["org_id", "agent_id"];
const IDENT = /^[a-z_][a-z0-9_]*$/;

/** The columns an agent sends for `table`: every column but the owner ones, in DDL order. */
export function wireColumns(table: RowTable): string[] {
  return Object.keys(table.columns).filter((n) => !OWNER_COLUMNS.includes(n));
}

/** A wire value as a TSV field (the agent side: no validation, the controller does it). */
export function fieldText(v: unknown): string {
  if (v === undefined) return "";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return escapeTsv(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v === null) return "\\N";
  if (Array.isArray(v)) return `[${v.map(String).join(",")}]`;
  return escapeTsv(JSON.stringify(v) ?? "");
}

/** `fieldText` for a column that must have a value: a missing one is \N, which the controller rejects. */
function requiredText(v: unknown): string {
  return v === undefined ? "\\N" : fieldText(v);
}

type TLines = (rows: readonly Record<string, unknown>[]) => string;
const lineEncoders = new Map<string, TLines>();

/**
 * Rows of `table` → their TSV lines (each ending in a newline), the columns in the order given.
 * Generated once per column list: `r.flow_id`, `r.start_time`, ... read by name (a loop over names
 * makes each access megamorphic on these wide rows, see record-rows.ts). An omitted optional column
 * is an empty field (its DDL default), an omitted required one \N (rejected, as JSON rejects it).
 */
export function encodeTsvLines(
  table: RowTable,
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
): string {
  const key = `${table.name}|${columns.join(",")}`;
  let enc = lineEncoders.get(key);
  if (!enc) {
    for (const c of columns)
      if (!IDENT.test(c)) throw new Error(`column name '${c}' is not a plain identifier`);
    // Numbers (most fields) inline; everything else through fieldText / requiredText.
    const steps = columns.map((c, i) => {
      const col = table.columns[c];
      const fn = col && col.ddlDefault === undefined ? "q" : "t";
      return `v = r.${c}; ${i === 0 ? "" : 'out += "\\t"; '}out += typeof v === "number" ? "" + v : ${fn}(v);`;
    });
    const body = `return function lines(rows) { let out = ""; let v; for (const r of rows) { ${steps.join(" ")} out += "\\n"; } return out; };`;
    enc = new Function("t", "q", body)(fieldText, requiredText) as TLines;
    lineEncoders.set(key, enc);
  }
  return enc(rows);
}

/** TabSeparated unescaping (the sequences `escapeTsv` and ClickHouse write). */
export function unescapeTsv(s: string): string {
  if (!s.includes("\\")) return s;
  return s.replace(/\\(.)/gs, (_, c: string) => {
    switch (c) {
      case "t":
        return "\t";
      case "n":
        return "\n";
      case "r":
        return "\r";
      case "0":
        return "\0";
      case "b":
        return "\b";
      case "f":
        return "\f";
      default:
        return c;
    }
  });
}

/** How a column's field text becomes its wire value, from the column's ClickHouse type. */
export type TFieldKind = "number" | "string" | "bool" | "numbers" | "nullableNumber";

export function fieldKind(c: Column): TFieldKind {
  const t = c.type;
  if (t === "Bool") return "bool";
  if (t.startsWith("Array(")) return "numbers";
  if (t.startsWith("Nullable(")) return "nullableNumber";
  // UInt64 identifiers travel as decimal strings (they exceed 2^53); counters as numbers.
  if (/^U?Int\d+$/.test(t)) return c.tsv("1") !== undefined ? "string" : "number";
  if (t.startsWith("DateTime")) return "number";
  return "string";
}

const INT_TEXT = /^-?\d+$/;

/**
 * A field's text (unescaped) → the wire value the agent meant, so the column's own checks and zod
 * schema judge it exactly as they judge a JSON batch's value. Text that is not of the column's
 * kind stays a string, which the schema rejects with its reason. An empty field of an optional
 * column is `undefined` (omitted).
 */
export function fieldValue(kind: TFieldKind, text: string, optional: boolean): unknown {
  if (text === "" && optional) return undefined;
  if (text === "\\N") return null;
  const s = unescapeTsv(text);
  switch (kind) {
    case "string":
      return s;
    case "number":
    case "nullableNumber":
      return INT_TEXT.test(s) && s.length <= 20 ? Number(s) : s;
    case "bool":
      return s === "true" ? true : s === "false" ? false : s === "1" ? 1 : s === "0" ? 0 : s;
    case "numbers": {
      if (!/^\[[^\]]*\]$/.test(s)) return s;
      const inner = s.slice(1, -1);
      return inner === "" ? [] : inner.split(",").map((x) => (INT_TEXT.test(x) ? Number(x) : x));
    }
  }
}

/**
 * TSV lines back to wire row objects (the agent's spool keeps batches in this encoding): each known
 * column's field as `fieldValue` reads it; omitted optionals stay out, unknown columns are dropped.
 */
export function decodeTsvLines(
  table: RowTable,
  columns: readonly string[],
  text: string,
): Record<string, unknown>[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const known = columns.map((name) => {
    const c = table.columns[name];
    return c ? { name, kind: fieldKind(c), optional: c.ddlDefault !== undefined } : undefined;
  });
  return lines.map((line) => {
    const fields = line.split("\t");
    const row: Record<string, unknown> = {};
    known.forEach((k, i) => {
      const f = fields[i];
      if (!k || f === undefined) return;
      const v = fieldValue(k.kind, f, k.optional);
      if (v !== undefined) row[k.name] = v;
    });
    return row;
  });
}
