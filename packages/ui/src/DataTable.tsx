"use client";

import {
  createColumnHelper,
  createSortedRowModel,
  rowSortingFeature,
  sortFn_alphanumeric,
  sortFn_text,
  tableFeatures,
  useTable,
} from "@tanstack/react-table";
import { type ReactNode, useMemo } from "react";
import { Badge, type BadgeTone } from "./Badge.tsx";
import { EmptyState } from "./EmptyState.tsx";
import { type CellKind, formatCell } from "./format.ts";

export type DataTableRow = Record<string, string | number | boolean | null | undefined>;

export type DataTableColumn = {
  /** Key of the row value shown in this column. */
  id: string;
  header: string;
  kind?: CellKind;
  align?: "left" | "right";
  /** Key of a row value holding a URL: the cell becomes a link. */
  linkKey?: string;
};

const features = tableFeatures({
  rowSortingFeature,
  sortedRowModel: createSortedRowModel(),
  sortFns: { alphanumeric: sortFn_alphanumeric, text: sortFn_text },
});
const helper = createColumnHelper<typeof features, DataTableRow>();

const STATE_TONES: Record<string, BadgeTone> = {
  online: "ok",
  ok: "ok",
  healthy: "ok",
  degraded: "warn",
  pending: "info",
  offline: "bad",
  disabled: "neutral",
  error: "bad",
};

/**
 * A dense, sortable table. Columns are plain data so a server component can pass them in; the
 * sorting state lives here on the client.
 */
export function DataTable({
  columns,
  rows,
  rowKey = "id",
  empty,
  caption,
}: {
  columns: DataTableColumn[];
  rows: DataTableRow[];
  rowKey?: string;
  empty?: ReactNode;
  caption?: string;
}) {
  const defs = useMemo(
    () =>
      helper.columns(
        columns.map((col) =>
          helper.accessor((row) => row[col.id] ?? null, {
            id: col.id,
            header: col.header,
            sortUndefined: "last",
            cell: (info) => renderCell(col, info.getValue(), info.row.original),
          }),
        ),
      ),
    [columns],
  );
  const table = useTable({
    features,
    columns: defs,
    data: rows,
    getRowId: (row, index) => String(row[rowKey] ?? index),
  });

  if (rows.length === 0) {
    return <>{empty ?? <EmptyState title="Nothing here yet" />}</>;
  }
  const aligns = new Map(columns.map((c) => [c.id, c.align ?? (c.kind === "number" ? "right" : "left")]));
  return (
    // A wide table scrolls sideways inside its frame; focusable so the keyboard can scroll it too.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (WCAG 2.1.1)
    <section className="fp-table-wrap" aria-label={caption ?? "Table"} tabIndex={0}>
      <table className="fp-table">
        {caption && <caption className="fp-sr-only">{caption}</caption>}
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => {
                const sorted = header.column.getIsSorted();
                return (
                  <th
                    key={header.id}
                    className={aligns.get(header.column.id) === "right" ? "fp-right" : undefined}
                    aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : "none"}
                  >
                    <button
                      type="button"
                      className="fp-th-btn"
                      onClick={header.column.getToggleSortingHandler()}
                    >
                      <table.FlexRender header={header} />
                      <span className="fp-sort" aria-hidden="true">
                        {sorted === "asc" ? "▲" : sorted === "desc" ? "▼" : ""}
                      </span>
                    </button>
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr key={row.id}>
              {row.getAllCells().map((cell) => (
                <td key={cell.id} className={aligns.get(cell.column.id) === "right" ? "fp-right" : undefined}>
                  <table.FlexRender cell={cell} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function renderCell(col: DataTableColumn, value: unknown, row: DataTableRow): ReactNode {
  const kind = col.kind ?? "text";
  const text = formatCell(kind, value);
  let node: ReactNode = text;
  if (kind === "state" && typeof value === "string") {
    node = <Badge tone={STATE_TONES[value.toLowerCase()] ?? "neutral"}>{text}</Badge>;
  } else if (kind === "mono") {
    node = <span className="fp-mono">{text}</span>;
  } else if (kind === "relative" && value) {
    // "5s ago" differs between server render and hydration by design.
    node = (
      <time title={formatCell("datetime", value)} suppressHydrationWarning>
        {text}
      </time>
    );
  }
  const href = col.linkKey ? row[col.linkKey] : undefined;
  return typeof href === "string" ? <a href={href}>{node}</a> : node;
}
