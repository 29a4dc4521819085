"use client";

import { EmptyState, ServiceMap, type ServiceMapEdge } from "@flowplane/ui";
import "@xyflow/react/dist/style.css";
import { useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { ErrorAlert } from "../components/ErrorAlert.tsx";
import { useTRPC } from "../trpc/react.tsx";
import "./analysis.css";
import { fmtBytes, fmtPct, fmtRate, fmtUs } from "./format.ts";
import { Loading, Toolbar } from "./Toolbar.tsx";
import { filterToParam, rangeParams, withParams } from "./url-state.ts";
import { useUrlState } from "./use-url-state.ts";

const GROUPS = [
  ["service", "IP:port"],
  ["ip", "IP"],
  ["port", "Server port"],
  ["agent", "Agent"],
  ["l7_protocol", "L7 protocol"],
  ["group", "Agent group"],
  ["resource", "Resource tag"],
] as const;
type Group = (typeof GROUPS)[number][0];

function ipOf(node: string): string | undefined {
  const m = /^([0-9a-fA-F.:]+?)(?::(\d+))?$/.exec(node);
  if (!m?.[1]) return undefined;
  return m[1].includes(".") || m[2] === undefined ? m[1] : undefined;
}

/** Service map; a node or an edge opens the flows (and calls) behind it. */
export function TopologyView({ orgSlug }: { orgSlug: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const state = useUrlState("1h");
  const g = state.get("group");
  const groupBy: Group = GROUPS.some(([k]) => k === g) ? (g as Group) : "service";
  const query = useQuery(
    trpc.analysis.topology.queryOptions({ orgSlug, ...state.micros, groupBy, filters: state.filters }),
  );
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
  function drill(page: "flows" | "l7", filters: { column: string; op: "eq"; value: string | number }[]) {
    const q = withParams(new URLSearchParams(), {
      ...rangeParams(state.range),
      f: filters.map(filterToParam),
    });
    router.push(`/o/${orgSlug}/${page}?${q}`);
  }
  function nodeFilters(node: string, side: "client_ip" | "server_ip") {
    const ip = ipOf(node);
    const port = /:(\d+)$/.exec(node)?.[1];
    const out: { column: string; op: "eq"; value: string | number }[] = [];
    if (ip) out.push({ column: side, op: "eq", value: ip });
    if (side === "server_ip" && port && groupBy === "service")
      out.push({ column: "server_port", op: "eq", value: Number(port) });
    return out;
  }
  return (
    <>
      <Toolbar state={state}>
        <label style={{ fontSize: 13 }}>
          Group by{" "}
          <select
            className="fp-input"
            style={{ width: "auto" }}
            value={groupBy}
            onChange={(e) => state.set({ group: e.target.value })}
          >
            {GROUPS.map(([k, l]) => (
              <option key={k} value={k}>
                {l}
              </option>
            ))}
          </select>
        </label>
        {query.data ? (
          <span className="fp-muted" style={{ fontSize: 12 }}>
            from {query.data.source === "rollup" ? "per-minute rollups" : "raw flows and requests"}
          </span>
        ) : null}
      </Toolbar>
      <ErrorAlert error={query.error} />
      {query.isPending ? (
        <Loading what="the service map" />
      ) : edges.length === 0 ? (
        <EmptyState title="Nothing talked in this range">Widen the time range.</EmptyState>
      ) : (
        <div className="fp-an-split">
          <ServiceMap
            edges={mapEdges}
            onNodeClick={(n) => {
              const f = nodeFilters(n, "server_ip");
              if (f.length) drill("flows", f);
            }}
            onEdgeClick={(e) =>
              drill("l7", [...nodeFilters(e.client, "client_ip"), ...nodeFilters(e.server, "server_ip")])
            }
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
                      onClick={() =>
                        drill("flows", [
                          ...nodeFilters(e.client, "client_ip"),
                          ...nodeFilters(e.server, "server_ip"),
                        ])
                      }
                    >
                      flows
                    </button>{" "}
                    <button
                      type="button"
                      className="fp-trp-btn"
                      onClick={() =>
                        drill("l7", [
                          ...nodeFilters(e.client, "client_ip"),
                          ...nodeFilters(e.server, "server_ip"),
                        ])
                      }
                    >
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
