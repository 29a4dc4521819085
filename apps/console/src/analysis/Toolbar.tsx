"use client";

import { type BuilderColumn, FilterBuilder, TimeRangePicker } from "@flowplane/ui";
import type { ReactNode } from "react";
import { type RangeState, RELATIVE_RANGES, type UrlFilter } from "./url-state.ts";
import type { useUrlState } from "./use-url-state.ts";

/** Time range + filters of a view, both in the URL. */
export function Toolbar({
  state,
  columns,
  children,
}: {
  state: ReturnType<typeof useUrlState>;
  columns?: BuilderColumn[];
  children?: ReactNode;
}) {
  return (
    <div className="fp-an-toolbar">
      <div className="fp-an-toolbar-row">
        <TimeRangePicker
          value={state.range}
          presets={Object.keys(RELATIVE_RANGES)}
          onChange={(r) => state.setRange(r as RangeState)}
        />
        {children}
      </div>
      {columns ? (
        <FilterBuilder
          columns={columns}
          filters={state.filters}
          onChange={(f) => state.setFilters(f as UrlFilter[])}
        />
      ) : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <div className="fp-loading" role="status">
      Loading {what}…
    </div>
  );
}
