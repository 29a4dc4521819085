import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as DMMF from "@prisma/dmmf";
import internals from "@prisma/internals";
import pg from "pg";
import { MIGRATIONS_TABLE } from "./migrate.ts";

/**
 * Compares the Prisma schema (its DMMF, from Prisma's offline wasm engine) with the catalog of a
 * real database: tables, columns (type, nullability, default), enums, primary keys, unique and
 * plain indexes, foreign keys (columns, target, ON DELETE/UPDATE). `prisma migrate diff` cannot do
 * this here (it needs the native engine and silently checks nothing without it), so we do.
 */

export const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "prisma", "schema");

export type DriftKind = "table" | "column" | "enum" | "index" | "foreign_key";

export interface Difference {
  kind: DriftKind;
  /** e.g. `agents.ips`, `agent_state`, `agents(org_id, group_id)` */
  object: string;
  problem: string;
}

/** The database shape, normalised so that schema and catalog can be compared as plain values. */
export interface SchemaShape {
  tables: Map<string, Map<string, ColumnShape>>;
  enums: Map<string, string[]>;
  /** `table:pk(a, b)`, `table:unique(a)`, `table:index(a, b)` */
  indexes: Set<string>;
  /** `table(a, b) -> other(x, y) on delete cascade on update cascade` */
  foreignKeys: Set<string>;
}

export interface ColumnShape {
  type: string;
  nullable: boolean;
  /** Postgres's own rendering of the default expression; null when there is none. */
  default: string | null;
}

export async function loadSchemaFiles(dir: string = SCHEMA_DIR): Promise<[string, string][]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".prisma")).sort();
  return Promise.all(
    names.map(async (n) => [join(dir, n), await readFile(join(dir, n), "utf8")] as [string, string]),
  );
}

export async function loadDmmf(dir: string = SCHEMA_DIR): Promise<DMMF.Document> {
  return internals.getDMMF({ datamodel: await loadSchemaFiles(dir) });
}

// ─── What the schema expects ───────────────────────────────────────────────────────────────────

const SCALAR_TYPES: Record<string, string> = {
  String: "text",
  Int: "integer",
  BigInt: "bigint",
  Float: "double precision",
  Decimal: "numeric(65,30)",
  Boolean: "boolean",
  DateTime: "timestamp(3) without time zone",
  Json: "jsonb",
  Bytes: "bytea",
};

const NATIVE_TYPES: Record<string, (args: string[]) => string> = {
  Uuid: () => "uuid",
  Text: () => "text",
  VarChar: (a) => (a[0] ? `character varying(${a[0]})` : "character varying"),
  Char: (a) => `character(${a[0] ?? 1})`,
  Timestamptz: (a) => `timestamp(${a[0] ?? 3}) with time zone`,
  Timestamp: (a) => `timestamp(${a[0] ?? 3}) without time zone`,
  Date: () => "date",
  SmallInt: () => "smallint",
  Integer: () => "integer",
  BigInt: () => "bigint",
  Real: () => "real",
  DoublePrecision: () => "double precision",
  JsonB: () => "jsonb",
  Json: () => "json",
  ByteA: () => "bytea",
  Inet: () => "inet",
  Citext: () => "citext",
};

const FK_ACTIONS: Record<string, string> = {
  Cascade: "cascade",
  Restrict: "restrict",
  NoAction: "no action",
  SetNull: "set null",
  SetDefault: "set default",
};

function quoteIfNeeded(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

export function expectedShape(dmmf: DMMF.Document): SchemaShape {
  const { models, enums } = dmmf.datamodel;
  const enumDbName = new Map(enums.map((e) => [e.name, e.dbName ?? e.name]));
  const tableOf = new Map(models.map((m) => [m.name, m.dbName ?? m.name]));
  const shape: SchemaShape = {
    tables: new Map(),
    enums: new Map(),
    indexes: new Set(),
    foreignKeys: new Set(),
  };

  for (const e of enums)
    shape.enums.set(
      e.dbName ?? e.name,
      e.values.map((v) => v.dbName ?? v.name),
    );

  const columnOf = new Map<string, Map<string, string>>();
  for (const m of models) {
    const table = m.dbName ?? m.name;
    const cols = new Map<string, ColumnShape>();
    const names = new Map<string, string>();
    for (const f of m.fields) {
      if (f.kind === "object") continue;
      const column = f.dbName ?? f.name;
      names.set(f.name, column);
      let type: string;
      if (f.kind === "enum") type = quoteIfNeeded(enumDbName.get(f.type) ?? f.type);
      else if (f.nativeType) {
        const [native, args] = f.nativeType as [string, string[]];
        const render = NATIVE_TYPES[native];
        type = render ? render(args) : `unknown native type ${native}`;
      } else type = SCALAR_TYPES[f.type] ?? `unknown type ${f.type}`;
      if (f.isList) type += "[]";
      // Lists are declared without `?` in Prisma; we keep them NOT NULL in the database too.
      cols.set(column, { type, nullable: !f.isRequired, default: expectedDefault(f, type, enumDbName) });
    }
    shape.tables.set(table, cols);
    columnOf.set(m.name, names);
  }

  const col = (model: string, field: string) => columnOf.get(model)?.get(field) ?? `?${field}`;
  for (const idx of dmmf.datamodel.indexes) {
    const table = tableOf.get(idx.model) ?? idx.model;
    const cols = idx.fields.map((f) => col(idx.model, f.name)).join(", ");
    const kind =
      idx.type === "id"
        ? "pk"
        : idx.type === "unique"
          ? "unique"
          : idx.type === "normal"
            ? "index"
            : idx.type;
    shape.indexes.add(`${table}:${kind}(${cols})`);
  }

  for (const m of models) {
    for (const f of m.fields) {
      if (f.kind !== "object" || !f.relationFromFields?.length) continue;
      const from = f.relationFromFields.map((x) => col(m.name, x)).join(", ");
      const to = (f.relationToFields ?? []).map((x) => col(f.type, x)).join(", ");
      const required = f.relationFromFields.every((x) => m.fields.find((g) => g.name === x)?.isRequired);
      const onDelete = FK_ACTIONS[f.relationOnDelete ?? (required ? "Restrict" : "SetNull")];
      const onUpdate = FK_ACTIONS[(f as { relationOnUpdate?: string }).relationOnUpdate ?? "Cascade"];
      shape.foreignKeys.add(
        `${tableOf.get(m.name)}(${from}) -> ${tableOf.get(f.type)}(${to}) on delete ${onDelete} on update ${onUpdate}`,
      );
    }
  }
  return shape;
}

function expectedDefault(f: DMMF.Field, type: string, enumDbName: Map<string, string>): string | null {
  if (!f.hasDefaultValue || f.default === undefined) return null;
  const d = f.default as unknown;
  if (Array.isArray(d)) {
    if (d.length === 0) return `ARRAY[]::${type}`;
    return `unsupported list default ${JSON.stringify(d)}`;
  }
  if (typeof d === "object" && d !== null && "name" in d) {
    const fn = d as { name: string; args: unknown[] };
    if (fn.name === "dbgenerated") return String(fn.args[0] ?? "");
    if (fn.name === "now") return "CURRENT_TIMESTAMP";
    if (fn.name === "autoincrement") return "nextval(...)";
    return `unsupported default ${fn.name}()`;
  }
  if (typeof d === "number" || typeof d === "boolean") return String(d);
  if (typeof d === "string") {
    const literal = `'${d.replaceAll("'", "''")}'`;
    if (f.kind === "enum") return `${literal}::${quoteIfNeeded(enumDbName.get(f.type) ?? f.type)}`;
    return `${literal}::${type}`;
  }
  return `unsupported default ${JSON.stringify(d)}`;
}

// ─── What the database has ─────────────────────────────────────────────────────────────────────

const PG_FK_ACTIONS: Record<string, string> = {
  a: "no action",
  r: "restrict",
  c: "cascade",
  n: "set null",
  d: "set default",
};

export async function actualShape(client: pg.ClientBase, schema = "public"): Promise<SchemaShape> {
  const shape: SchemaShape = {
    tables: new Map(),
    enums: new Map(),
    indexes: new Set(),
    foreignKeys: new Set(),
  };

  const columns = await client.query<{
    table: string;
    column: string;
    type: string;
    notnull: boolean;
    default: string | null;
  }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> $2
      ORDER BY c.relname, a.attnum`,
    [schema, MIGRATIONS_TABLE],
  );
  for (const r of columns.rows) {
    let cols = shape.tables.get(r.table);
    if (!cols) {
      cols = new Map();
      shape.tables.set(r.table, cols);
    }
    cols.set(r.column, { type: r.type, nullable: !r.notnull, default: normaliseDefault(r.default) });
  }

  const enums = await client.query<{ name: string; labels: string[] }>(
    `SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS labels
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
      WHERE n.nspname = $1 GROUP BY t.typname`,
    [schema],
  );
  for (const r of enums.rows) shape.enums.set(r.name, r.labels);

  const indexes = await client.query<{
    table: string;
    primary: boolean;
    unique: boolean;
    columns: (string | null)[];
    partial: boolean;
  }>(
    `SELECT t.relname AS table, i.indisprimary AS primary, i.indisunique AS unique,
            i.indpred IS NOT NULL AS partial,
            array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                    LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                   ORDER BY k.ord)::text[] AS columns
       FROM pg_index i
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1 AND t.relname <> $2`,
    [schema, MIGRATIONS_TABLE],
  );
  for (const r of indexes.rows) {
    const kind = r.primary ? "pk" : r.unique ? "unique" : "index";
    const cols = r.columns.map((c) => c ?? "(expression)").join(", ");
    shape.indexes.add(`${r.table}:${kind}(${cols})${r.partial ? " partial" : ""}`);
  }

  const fks = await client.query<{
    table: string;
    columns: string[];
    ref: string;
    refColumns: string[];
    del: string;
    upd: string;
  }>(
    `SELECT t.relname AS table, rt.relname AS ref, c.confdeltype AS del, c.confupdtype AS upd,
            array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS columns,
            array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS "refColumns"
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_class rt ON rt.oid = c.confrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE c.contype = 'f' AND n.nspname = $1`,
    [schema],
  );
  for (const r of fks.rows) {
    shape.foreignKeys.add(
      `${r.table}(${r.columns.join(", ")}) -> ${r.ref}(${r.refColumns.join(", ")}) on delete ${PG_FK_ACTIONS[r.del]} on update ${PG_FK_ACTIONS[r.upd]}`,
    );
  }
  return shape;
}

function normaliseDefault(expr: string | null): string | null {
  if (expr === null) return null;
  if (expr.startsWith("nextval(")) return "nextval(...)";
  // Postgres renders `now()` as written; Prisma's migrations write CURRENT_TIMESTAMP. Same thing.
  if (expr === "now()") return "CURRENT_TIMESTAMP";
  return expr;
}

// ─── Comparison ────────────────────────────────────────────────────────────────────────────────

export function compareShapes(expected: SchemaShape, actual: SchemaShape): Difference[] {
  const out: Difference[] = [];
  for (const [table, cols] of expected.tables) {
    const have = actual.tables.get(table);
    if (!have) {
      out.push({ kind: "table", object: table, problem: "missing from the database" });
      continue;
    }
    for (const [column, want] of cols) {
      const got = have.get(column);
      const object = `${table}.${column}`;
      if (!got) {
        out.push({ kind: "column", object, problem: "missing from the database" });
        continue;
      }
      if (got.type !== want.type)
        out.push({ kind: "column", object, problem: `type is ${got.type}, schema expects ${want.type}` });
      if (got.nullable !== want.nullable)
        out.push({
          kind: "column",
          object,
          problem: want.nullable
            ? "is NOT NULL, schema expects nullable"
            : "is nullable, schema expects NOT NULL",
        });
      if (got.default !== want.default)
        out.push({
          kind: "column",
          object,
          problem: `default is ${got.default ?? "none"}, schema expects ${want.default ?? "none"}`,
        });
    }
    for (const column of have.keys())
      if (!cols.has(column))
        out.push({
          kind: "column",
          object: `${table}.${column}`,
          problem: "exists in the database but not in the schema",
        });
  }
  for (const table of actual.tables.keys())
    if (!expected.tables.has(table))
      out.push({ kind: "table", object: table, problem: "exists in the database but not in the schema" });

  for (const [name, values] of expected.enums) {
    const got = actual.enums.get(name);
    if (!got) out.push({ kind: "enum", object: name, problem: "missing from the database" });
    else if (got.join(",") !== values.join(","))
      out.push({
        kind: "enum",
        object: name,
        problem: `values are (${got.join(", ")}), schema expects (${values.join(", ")})`,
      });
  }
  for (const name of actual.enums.keys())
    if (!expected.enums.has(name))
      out.push({ kind: "enum", object: name, problem: "exists in the database but not in the schema" });

  diffSets(out, "index", expected.indexes, actual.indexes);
  diffSets(out, "foreign_key", expected.foreignKeys, actual.foreignKeys);
  return out;
}

function diffSets(out: Difference[], kind: DriftKind, expected: Set<string>, actual: Set<string>) {
  for (const x of expected)
    if (!actual.has(x)) out.push({ kind, object: x, problem: "missing from the database" });
  for (const x of actual)
    if (!expected.has(x))
      out.push({ kind, object: x, problem: "exists in the database but not in the schema" });
}

/** Differences between the Prisma schema and the database at `url`; empty when they agree. */
export async function checkDrift(url: string, options: { schemaDir?: string } = {}): Promise<Difference[]> {
  const expected = expectedShape(await loadDmmf(options.schemaDir));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return compareShapes(expected, await actualShape(client));
  } finally {
    await client.end();
  }
}

export function formatDifferences(diffs: Difference[]): string {
  return diffs.map((d) => `${d.kind} ${d.object}: ${d.problem}`).join("\n");
}
