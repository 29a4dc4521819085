"use client";

import { useVirtualizer } from "@tanstack/react-virtual";
import { type ReactNode, useEffect, useRef } from "react";

export type VirtualColumn<R> = {
  id: string;
  header: string;
  width: number;
  align?: "left" | "right";
  /** Server-side sort key, when the column can be sorted. */
  sortKey?: string;
  cell: (row: R) => ReactNode;
};

/**
 * A virtualised table for long result sets: only visible rows are in the DOM; reaching the end
 * asks for the next page (cursor pagination). Sorting is the server's: clicking a sortable header
 * calls `onSort`, the view puts it in the URL and refetches.
 */
export function VirtualTable<R>({
  columns,
  rows,
  rowKey,
  height = 520,
  sort,
  dir,
  onSort,
  onRowClick,
  selectedKey,
  hasMore,
  loadingMore,
  onLoadMore,
  caption,
}: {
  columns: VirtualColumn<R>[];
  rows: R[];
  rowKey: (row: R, index: number) => string;
  height?: number;
  sort?: string;
  dir?: "asc" | "desc";
  onSort?: (sortKey: string) => void;
  onRowClick?: (row: R) => void;
  selectedKey?: string;
  hasMore?: boolean;
  loadingMore?: boolean;
  onLoadMore?: () => void;
  caption?: string;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parent.current,
    estimateSize: () => 32,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? -1;
  useEffect(() => {
    if (hasMore && !loadingMore && lastIndex >= rows.length - 5) onLoadMore?.();
  }, [hasMore, loadingMore, lastIndex, rows.length, onLoadMore]);
  const template = columns.map((c) => `${c.width}px`).join(" ");
  const total = columns.reduce((a, c) => a + c.width, 0);
  return (
    <section className="fp-vt" aria-label={caption}>
      <div ref={parent} style={{ height, overflow: "auto", position: "relative" }}>
        <div
          className="fp-vt-head"
          style={{
            display: "grid",
            gridTemplateColumns: template,
            width: total,
            position: "sticky",
            top: 0,
            zIndex: 1,
          }}
        >
          {columns.map((c) => {
            const active = c.sortKey && c.sortKey === sort;
            return (
              <div key={c.id} className="fp-vt-th" style={{ textAlign: c.align ?? "left" }}>
                {c.sortKey && onSort ? (
                  <button
                    type="button"
                    className="fp-vt-sort"
                    onClick={() => onSort(c.sortKey as string)}
                    aria-label={`Sort by ${c.header}${active ? (dir === "asc" ? ", ascending" : ", descending") : ""}`}
                  >
                    {c.header} {active ? (dir === "asc" ? "▲" : "▼") : ""}
                  </button>
                ) : (
                  c.header
                )}
              </div>
            );
          })}
        </div>
        <div style={{ height: virtualizer.getTotalSize(), width: total, position: "relative" }}>
          {items.map((v) => {
            const row = rows[v.index] as R;
            const key = rowKey(row, v.index);
            return (
              // biome-ignore lint/a11y/noStaticElementInteractions: rows of a virtualised grid; Enter opens too
              <div
                key={key}
                data-row=""
                tabIndex={onRowClick ? 0 : undefined}
                onKeyDown={onRowClick ? (e) => e.key === "Enter" && onRowClick(row) : undefined}
                className={`fp-vt-row${key === selectedKey ? " fp-vt-row-selected" : ""}`}
                onClick={onRowClick ? () => onRowClick(row) : undefined}
                style={{
                  display: "grid",
                  gridTemplateColumns: template,
                  position: "absolute",
                  top: 0,
                  left: 0,
                  width: total,
                  height: v.size,
                  transform: `translateY(${v.start}px)`,
                  cursor: onRowClick ? "pointer" : undefined,
                }}
              >
                {columns.map((c) => (
                  <div key={c.id} className="fp-vt-td" style={{ textAlign: c.align ?? "left" }}>
                    {c.cell(row)}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
      </div>
      <div className="fp-vt-foot">
        {rows.length} rows shown{loadingMore ? " · loading more…" : hasMore ? " · scroll for more" : ""}
      </div>
    </section>
  );
}
