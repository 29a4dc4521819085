"use client";

import { type BuilderColumn, EmptyState, ServiceMap, type ServiceMapEdge } from "@flowplane/ui";
import "@xyflow/react/dist/style.css";
import { useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { ErrorAlert } from "../components/ErrorAlert.tsx";
import { useTRPC } from "../trpc/react.tsx";
import "./analysis.css";
import { fmtBytes, fmtPct, fmtRangeUtc, fmtRate, fmtUs } from "./format.ts";
import { LabelKeyForm, TagGroupOptions } from "./LabelKeyForm.tsx";
import { Loading, Toolbar } from "./Toolbar.tsx";
import { BASE_GROUPS, type DrillFilter, nodeFilters, readGroup, readLabelKey } from "./topology-groups.ts";
import { filterToParam, rangeParams, withParams } from "./url-state.ts";
import { useUrlState } from "./use-url-state.ts";

/** Service map; a node or an edge opens the flows (and calls) behind it. */
export function TopologyView({
  orgSlug,
  filterColumns,
  pageColumns,
}: {
  orgSlug: string;
  /** Columns of either log (a filter applies to the side holding its column). */
  filterColumns: BuilderColumn[];
  /** What the flow and L7 pages accept: a drill carries over only the filters its page knows. */
  pageColumns: { flows: string[]; l7: string[] };
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const state = useUrlState("1h");
  const groupBy = readGroup(state.get("group"));
  const labelKey = readLabelKey(state.get("labelKey"));
  const needsKey = groupBy === "label" && !labelKey;
  const query = useQuery({
    ...trpc.analysis.topology.queryOptions({
      orgSlug,
      ...state.micros,
      groupBy,
      labelKey: groupBy === "label" ? labelKey : undefined,
      filters: state.filters,
    }),
    enabled: !needsKey,
  });
  const edges = query.data?.edges ?? [];
  const mapEdges: ServiceMapEdge[] = edges.map((e) => ({
    client: e.client,
    server: e.server,
    label: [
      e.requests ? `${fmtRate(e.requestRate)} · ${fmtPct(e.errorPct)} err · p95 ${fmtUs(e.p95Us)}` : "",
      e.bytes ? `${fmtBytes(e.bytes)} · ${e.retrans} retr` : "",
    ]
      .filter(Boolean)
      .join(" · "),
    severity: e.errorPct / 20 + (e.flows ? e.retrans / Math.max(1, e.flows) / 5 : 0),
  }));
  // A drill keeps the page's own filters and adds the node's (or edge's) sides.
  function drill(page: "flows" | "l7", filters: DrillFilter[]) {
    const q = withParams(new URLSearchParams(), {
      ...rangeParams(state.range),
      f: [...state.filters.filter((f) => pageColumns[page].includes(f.column)), ...filters].map(
        filterToParam,
      ),
    });
    router.push(`/o/${orgSlug}/${page}?${q}`);
  }
  const edgeFilters = (e: { client: string; server: string }) => [
    ...nodeFilters(groupBy, e.client, "client"),
    ...nodeFilters(groupBy, e.server, "server"),
  ];
  // Rollups answer whole hours: say which range the figures cover.
  const answered = query.data
    ? `showing ${fmtRangeUtc(query.data.from, query.data.to)}${
        query.data.source === "rollup" ? ", whole hours (hourly rollups)" : " (raw flows and requests)"
      }`
    : "";
  return (
    <>
      <Toolbar state={state} columns={filterColumns}>
        <label style={{ fontSize: 13 }}>
          Group by{" "}
          <select
            className="fp-input"
            style={{ width: "auto" }}
            value={groupBy}
            aria-label="Group by"
            onChange={(e) => state.set({ group: e.target.value })}
          >
            {BASE_GROUPS.map(([k, l]) => (
              <option key={k} value={k}>
                {l}
              </option>
            ))}
            <TagGroupOptions label="Resource tags (both sides)" />
          </select>
        </label>
        {groupBy === "label" ? (
          <LabelKeyForm labelKey={labelKey} onChange={(k) => state.set({ labelKey: k })} />
        ) : null}
        {answered ? (
          <span className="fp-muted" style={{ fontSize: 12 }} data-testid="topology-range">
            {answered}
          </span>
        ) : null}
      </Toolbar>
      <ErrorAlert error={query.error} />
      {needsKey ? (
        <EmptyState title="Which label?">Enter the K8s label key to group nodes by, e.g. app.</EmptyState>
      ) : query.isPending ? (
        <Loading what="the service map" />
      ) : edges.length === 0 ? (
        <EmptyState title="Nothing talked in this range">Widen the time range.</EmptyState>
      ) : (
        <div className="fp-an-split">
          <ServiceMap
            edges={mapEdges}
            onNodeClick={(n) => {
              const f = nodeFilters(groupBy, n, "server");
              if (f.length) drill("flows", f);
            }}
            onEdgeClick={(e) => drill("l7", edgeFilters(e))}
          />
          <table className="fp-an-table" data-testid="topology-edges">
            <thead>
              <tr>
                <th>Client</th>
                <th>Server</th>
                <th className="num">Requests/s</th>
                <th className="num">Errors</th>
                <th className="num">p95</th>
                <th className="num">Bytes</th>
                <th className="num">Retrans.</th>
                <th>Drill</th>
              </tr>
            </thead>
            <tbody>
              {edges.map((e) => (
                <tr key={`${e.client}>${e.server}`}>
                  <td>{e.client}</td>
                  <td>{e.server}</td>
                  <td className="num">{fmtRate(e.requestRate)}</td>
                  <td className="num">{fmtPct(e.errorPct)}</td>
                  <td className="num">{e.requests ? fmtUs(e.p95Us) : "—"}</td>
                  <td className="num">{fmtBytes(e.bytes)}</td>
                  <td className="num">{e.retrans}</td>
                  <td>
                    <button
                      type="button"
                      className="fp-trp-btn"
                      onClick={() => drill("flows", edgeFilters(e))}
                    >
                      flows
                    </button>{" "}
                    <button type="button" className="fp-trp-btn" onClick={() => drill("l7", edgeFilters(e))}>
                      calls
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
