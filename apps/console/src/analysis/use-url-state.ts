"use client";

import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useCallback, useMemo } from "react";
import {
  filterToParam,
  type RangeState,
  rangeMicros,
  rangeParams,
  readFilters,
  readRange,
  type UrlFilter,
  withParams,
} from "./url-state.ts";

/** The view's state as it lives in the URL, and setters that replace the URL (shareable links). */
export function useUrlState(defaultRange: "15m" | "1h" | "6h" | "24h" | "7d" = "1h") {
  const sp = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const params = useMemo(() => new URLSearchParams(sp.toString()), [sp]);
  const range = useMemo(() => readRange(params, defaultRange), [params, defaultRange]);
  // Relative ranges resolve once per URL change so query keys stay stable while paging.
  // biome-ignore lint/correctness/useExhaustiveDependencies: re-resolve "now" only when the URL changes
  const micros = useMemo(() => rangeMicros(range), [params]);
  const filters = useMemo(() => readFilters(params), [params]);
  const set = useCallback(
    (changes: Record<string, string | string[] | undefined>) => {
      const q = withParams(params, changes);
      router.replace(q ? `${pathname}?${q}` : pathname, { scroll: false });
    },
    [params, pathname, router],
  );
  return {
    params,
    range,
    micros,
    filters,
    get: (k: string) => params.get(k),
    set,
    setRange: (r: RangeState) => set(rangeParams(r)),
    setFilters: (f: UrlFilter[]) => set({ f: f.map(filterToParam), cursor: undefined }),
  };
}
