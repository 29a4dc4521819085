"use client";

import { type BuilderColumn, EmptyState, type VirtualColumn, VirtualTable } from "@flowplane/ui";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { ErrorAlert } from "../components/ErrorAlert.tsx";
import type { AppRouter } from "../server/routers/_app.ts";
import { useTRPC } from "../trpc/react.tsx";
import "./analysis.css";
import { fmtBytes, fmtTime, fmtUs } from "./format.ts";
import { Loading, Toolbar } from "./Toolbar.tsx";
import { withParams } from "./url-state.ts";
import { useUrlState } from "./use-url-state.ts";

type FlowRow = inferRouterOutputs<AppRouter>["analysis"]["flows"]["rows"][number];
type L4Sort = "end_time" | "start_time" | "bytes" | "packets" | "rtt_us" | "retrans" | "server_port";
const SORTS: L4Sort[] = ["end_time", "start_time", "bytes", "packets", "rtt_us", "retrans", "server_port"];

const columns: VirtualColumn<FlowRow>[] = [
  { id: "end", header: "End", width: 190, sortKey: "end_time", cell: (r) => fmtTime(r.end_time) },
  { id: "client", header: "Client", width: 170, cell: (r) => `${r.client_ip}:${r.client_port}` },
  {
    id: "server",
    header: "Server",
    width: 170,
    cell: (r) => `${r.server_ip}:${r.server_port}`,
    sortKey: "server_port",
  },
  {
    id: "proto",
    header: "Proto",
    width: 70,
    cell: (r) => (r.ip_protocol === 6 ? "tcp" : r.ip_protocol === 17 ? "udp" : r.ip_protocol),
  },
  { id: "l7", header: "L7", width: 70, cell: (r) => r.l7_protocol || "—" },
  {
    id: "bytes",
    header: "Bytes",
    width: 90,
    align: "right",
    sortKey: "bytes",
    cell: (r) => fmtBytes(r.bytes_c2s + r.bytes_s2c),
  },
  {
    id: "pkts",
    header: "Packets",
    width: 80,
    align: "right",
    sortKey: "packets",
    cell: (r) => (r.packets_c2s + r.packets_s2c).toLocaleString("en-US"),
  },
  {
    id: "rtt",
    header: "RTT",
    width: 80,
    align: "right",
    sortKey: "rtt_us",
    cell: (r) => (r.rtt_us ? fmtUs(r.rtt_us) : "—"),
  },
  {
    id: "retrans",
    header: "Retrans",
    width: 70,
    align: "right",
    sortKey: "retrans",
    cell: (r) => r.retrans_c2s + r.retrans_s2c,
  },
  { id: "close", header: "Close", width: 110, cell: (r) => r.close_type || "—" },
  {
    id: "agent",
    header: "Agent",
    width: 70,
    cell: (r) => <span title={r.agent_id}>…{r.agent_id.slice(-4)}</span>,
  },
];

/** Flow logs: range + filters in the URL, virtualised table, cursor pages, detail with L7 rows. */
export function FlowsView({ orgSlug, filterColumns }: { orgSlug: string; filterColumns: BuilderColumn[] }) {
  const trpc = useTRPC();
  const state = useUrlState("1h");
  const sortParam = state.get("sort") as L4Sort | null;
  const sort: L4Sort = sortParam && SORTS.includes(sortParam) ? sortParam : "end_time";
  const dir = state.get("dir") === "asc" ? "asc" : "desc";
  const input = { orgSlug, ...state.micros, filters: state.filters, sort, dir, limit: 200 } as const;
  const query = useInfiniteQuery(
    trpc.analysis.flows.infiniteQueryOptions(input, {
      getNextPageParam: (last) => last.nextCursor ?? undefined,
    }),
  );
  const rows = query.data?.pages.flatMap((p) => p.rows) ?? [];
  const total = query.data?.pages[0]?.total ?? null;
  // Flow ids are unique per agent only: the open flow is (agent, flow id), near `at`.
  const flow = state.get("flow");
  const agent = state.get("agent");
  const at = Number(state.get("at") ?? 0);
  const detail = useQuery({
    ...trpc.analysis.flowDetail.queryOptions({
      orgSlug,
      flowId: flow ?? "0",
      agentId: agent ?? NO_AGENT,
      at: at || 1,
    }),
    enabled: Boolean(flow && agent && at),
  });
  const exportHref = `/o/${orgSlug}/flows/export?${withParams(state.params, { flow: undefined, agent: undefined, at: undefined })}`;
  return (
    <>
      <Toolbar state={state} columns={filterColumns}>
        <a className="fp-trp-btn" href={exportHref} download>
          Export CSV
        </a>
      </Toolbar>
      <ErrorAlert error={query.error} />
      {query.isPending ? (
        <Loading what="flows" />
      ) : rows.length === 0 ? (
        <EmptyState title="No flows in this range">Widen the time range or remove a filter.</EmptyState>
      ) : (
        <div className="fp-an-split">
          <p className="fp-an-summary" data-testid="flow-total">
            {total !== null ? `${total.toLocaleString("en-US")} flow reports match` : ""}
          </p>
          <VirtualTable
            caption="Flow logs"
            columns={columns}
            rows={rows}
            rowKey={(r) => `${r.flow_id}/${r.report_seq ?? 0}/${r.agent_id}`}
            sort={sort}
            dir={dir}
            onSort={(k) => state.set({ sort: k, dir: k === sort && dir === "desc" ? "asc" : "desc" })}
            onRowClick={(r) => state.set({ flow: r.flow_id, agent: r.agent_id, at: String(r.end_time) })}
            selectedKey={undefined}
            hasMore={query.hasNextPage}
            loadingMore={query.isFetchingNextPage}
            onLoadMore={() => void query.fetchNextPage()}
          />
          {flow ? (
            <section className="fp-an-detail" aria-label="Flow detail">
              <h2>
                Flow {flow} {agent ? `of agent …${agent.slice(-4)}` : ""}{" "}
                <button
                  type="button"
                  className="fp-trp-btn"
                  onClick={() => state.set({ flow: undefined, agent: undefined, at: undefined })}
                >
                  Close
                </button>
              </h2>
              <ErrorAlert error={detail.error} />
              {!agent ? (
                <p>
                  This link names no agent: flow ids are unique per agent only. Open the flow from the table.
                </p>
              ) : detail.isPending ? (
                <Loading what="flow" />
              ) : detail.data ? (
                <FlowDetail orgSlug={orgSlug} data={detail.data} />
              ) : null}
            </section>
          ) : null}
        </div>
      )}
    </>
  );
}

function FlowDetail({
  orgSlug,
  data,
}: {
  orgSlug: string;
  data: inferRouterOutputs<AppRouter>["analysis"]["flowDetail"];
}) {
  const last = data.reports.at(-1);
  if (!last) return <p>No reports of this flow within a day of it.</p>;
  const sum = (k: keyof FlowRow) => data.reports.reduce((a, r) => a + Number(r[k] ?? 0), 0);
  const kv: [string, string | number][] = [
    ["Client", `${last.client_ip}:${last.client_port}`],
    ["Server", `${last.server_ip}:${last.server_port}`],
    ["Start", fmtTime(data.reports[0]?.start_time ?? last.start_time)],
    ["End", fmtTime(last.end_time)],
    ["Bytes c→s / s→c", `${fmtBytes(sum("bytes_c2s"))} / ${fmtBytes(sum("bytes_s2c"))}`],
    ["Packets", sum("packets_c2s") + sum("packets_s2c")],
    ["RTT", fmtUs(last.rtt_us)],
    ["Retransmissions", sum("retrans_c2s") + sum("retrans_s2c")],
    ["Close", last.close_type],
    ["Reports", data.reports.length],
    ["Agent", last.agent_id],
    ["Tunnel", last.tunnel_type || "none"],
  ];
  return (
    <>
      <dl className="fp-an-kv">
        {kv.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <h2>L7 requests on this flow ({data.l7.length})</h2>
      {data.l7.length === 0 ? (
        <p className="fp-muted">No L7 rows were parsed on this flow.</p>
      ) : (
        <table className="fp-an-table" data-testid="flow-l7">
          <thead>
            <tr>
              <th>Start</th>
              <th>Agent</th>
              <th>Request</th>
              <th>Status</th>
              <th className="num">Latency</th>
              <th>Trace</th>
            </tr>
          </thead>
          <tbody>
            {data.l7.map((r) => (
              <tr key={`${r.agent_id}/${r.req_tcp_seq}/${r.start_time}`}>
                <td>{fmtTime(r.start_time)}</td>
                <td>{r.agent_id.slice(-4)}</td>
                <td>
                  {r.request_type} {r.request_resource}
                </td>
                <td>
                  {r.response_status} {r.response_code ?? ""}
                </td>
                <td className="num">{fmtUs(r.response_duration_us)}</td>
                <td>
                  <Link href={traceHref(orgSlug, r)}>open</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Placeholder agent of a disabled detail query (never sent). */
const NO_AGENT = "00000000-0000-4000-8000-000000000000";

/** The trace page of an L7 row: by its trace key, else by the row itself (agent, flow id, sequence). */
export function traceHref(
  orgSlug: string,
  r: {
    trace_id: string;
    x_request_id: string;
    agent_id: string;
    flow_id: string;
    req_tcp_seq: number;
    start_time: number;
  },
): string {
  const p = new URLSearchParams();
  if (r.trace_id) p.set("trace", r.trace_id);
  else if (r.x_request_id) p.set("xrid", r.x_request_id);
  else {
    p.set("agent", r.agent_id);
    p.set("flow", r.flow_id);
    p.set("seq", String(r.req_tcp_seq));
  }
  const t = Math.floor(r.start_time / 1000);
  p.set("from", new Date(t - 30 * 60_000).toISOString());
  p.set("to", new Date(t + 30 * 60_000).toISOString());
  return `/o/${orgSlug}/traces?${p}`;
}
