"use client";

import { type FormEvent, useState } from "react";

export type BuilderFilter = { column: string; op: string; value: string | number | (string | number)[] };
export type BuilderColumn = { id: string; label: string; type: string };

const OPS_BY_TYPE: Record<string, string[]> = {
  String: ["eq", "neq", "in", "contains"],
  IPv6: ["eq", "neq", "in", "cidr"],
  UUID: ["eq", "neq", "in"],
};
const NUMERIC_OPS = ["eq", "neq", "in", "range"];
const OP_LABEL: Record<string, string> = {
  eq: "=",
  neq: "≠",
  in: "in (a,b,…)",
  cidr: "in CIDR",
  range: "between (min,max)",
  contains: "contains",
};

export function opsFor(type: string): string[] {
  return OPS_BY_TYPE[type] ?? NUMERIC_OPS;
}

function parseValue(op: string, type: string, text: string): BuilderFilter["value"] {
  const one = (s: string) => (type in OPS_BY_TYPE || !/^-?\d+$/.test(s) ? s : Number(s));
  if (op === "in" || op === "range") return text.split(",").map((s) => one(s.trim()));
  return op === "cidr" || op === "contains" ? text : one(text.trim());
}

/** Chips for the active filters and a row to add one: column (allow-listed), operator, value. */
export function FilterBuilder({
  columns,
  filters,
  onChange,
}: {
  columns: BuilderColumn[];
  filters: BuilderFilter[];
  onChange: (filters: BuilderFilter[]) => void;
}) {
  const [column, setColumn] = useState(columns[0]?.id ?? "");
  const type = columns.find((c) => c.id === column)?.type ?? "String";
  const ops = opsFor(type);
  const [op, setOp] = useState(ops[0] ?? "eq");
  const label = (id: string) => columns.find((c) => c.id === id)?.label ?? id;
  function onAdd(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const text = String(new FormData(e.currentTarget).get("value") ?? "").trim();
    if (!text) return;
    const useOp = ops.includes(op) ? op : (ops[0] ?? "eq");
    onChange([...filters, { column, op: useOp, value: parseValue(useOp, type, text) }]);
    e.currentTarget.reset();
  }
  return (
    <div className="fp-fb">
      <form className="fp-fb-add" onSubmit={onAdd} aria-label="Add a filter">
        <select
          aria-label="Column"
          className="fp-input"
          value={column}
          onChange={(e) => {
            setColumn(e.target.value);
            setOp(opsFor(columns.find((c) => c.id === e.target.value)?.type ?? "String")[0] ?? "eq");
          }}
        >
          {columns.map((c) => (
            <option key={c.id} value={c.id}>
              {c.label}
            </option>
          ))}
        </select>
        <select
          aria-label="Operator"
          className="fp-input"
          value={ops.includes(op) ? op : ops[0]}
          onChange={(e) => setOp(e.target.value)}
        >
          {ops.map((o) => (
            <option key={o} value={o}>
              {OP_LABEL[o] ?? o}
            </option>
          ))}
        </select>
        <input aria-label="Value" name="value" className="fp-input" placeholder="value" />
        <button type="submit" className="fp-trp-btn">
          Add filter
        </button>
      </form>
      {filters.length ? (
        <ul className="fp-fb-chips" aria-label="Active filters">
          {filters.map((f, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: filters may repeat; order is their identity
            <li key={i} className="fp-fb-chip">
              <span>
                {label(f.column)} {OP_LABEL[f.op] ?? f.op}{" "}
                <b>{Array.isArray(f.value) ? f.value.join(", ") : String(f.value)}</b>
              </span>
              <button
                type="button"
                aria-label={`Remove filter ${label(f.column)}`}
                onClick={() => onChange(filters.filter((_, j) => j !== i))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
