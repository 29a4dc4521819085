"use client";

import { type BuilderColumn, EmptyState, type VirtualColumn, VirtualTable } from "@flowplane/ui";
import { useInfiniteQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useRouter } from "next/navigation";
import { ErrorAlert } from "../components/ErrorAlert.tsx";
import type { AppRouter } from "../server/routers/_app.ts";
import { useTRPC } from "../trpc/react.tsx";
import "./analysis.css";
import { traceHref } from "./FlowsView.tsx";
import { fmtBytes, fmtTime, fmtUs } from "./format.ts";
import { Loading, Toolbar } from "./Toolbar.tsx";
import { useUrlState } from "./use-url-state.ts";

type L7Row = inferRouterOutputs<AppRouter>["analysis"]["l7"]["rows"][number];
type L7Sort = "start_time" | "response_duration_us" | "response_code" | "request_length" | "response_length";
const SORTS: L7Sort[] = [
  "start_time",
  "response_duration_us",
  "response_code",
  "request_length",
  "response_length",
];

const STATUS_COLOR: Record<string, string> = {
  ok: "var(--fp-ok)",
  client_error: "var(--fp-warn)",
  server_error: "var(--fp-bad)",
  timeout: "var(--fp-bad)",
};

const columns: VirtualColumn<L7Row>[] = [
  { id: "start", header: "Start", width: 190, sortKey: "start_time", cell: (r) => fmtTime(r.start_time) },
  { id: "proto", header: "Proto", width: 70, cell: (r) => r.l7_protocol },
  { id: "client", header: "Client", width: 140, cell: (r) => r.client_ip },
  { id: "server", header: "Server", width: 160, cell: (r) => `${r.server_ip}:${r.server_port}` },
  {
    id: "req",
    header: "Request",
    width: 300,
    cell: (r) => `${r.request_type} ${r.request_domain}${r.request_resource}`,
  },
  {
    id: "status",
    header: "Status",
    width: 120,
    cell: (r) => <span style={{ color: STATUS_COLOR[r.response_status] }}>{r.response_status || "—"}</span>,
  },
  {
    id: "code",
    header: "Code",
    width: 60,
    align: "right",
    sortKey: "response_code",
    cell: (r) => r.response_code ?? "—",
  },
  {
    id: "lat",
    header: "Latency",
    width: 90,
    align: "right",
    sortKey: "response_duration_us",
    cell: (r) => fmtUs(r.response_duration_us),
  },
  {
    id: "resp",
    header: "Resp. size",
    width: 90,
    align: "right",
    sortKey: "response_length",
    cell: (r) => fmtBytes(r.response_length),
  },
  { id: "trace", header: "Trace", width: 120, cell: (r) => r.trace_id || r.x_request_id || "—" },
  {
    id: "agent",
    header: "Agent",
    width: 70,
    cell: (r) => <span title={r.agent_id}>…{r.agent_id.slice(-4)}</span>,
  },
];

/** L7 request logs; a row opens its trace. */
export function L7View({ orgSlug, filterColumns }: { orgSlug: string; filterColumns: BuilderColumn[] }) {
  const trpc = useTRPC();
  const router = useRouter();
  const state = useUrlState("1h");
  const sortParam = state.get("sort") as L7Sort | null;
  const sort: L7Sort = sortParam && SORTS.includes(sortParam) ? sortParam : "start_time";
  const dir = state.get("dir") === "asc" ? "asc" : "desc";
  const query = useInfiniteQuery(
    trpc.analysis.l7.infiniteQueryOptions(
      { orgSlug, ...state.micros, filters: state.filters, sort, dir, limit: 200 },
      { getNextPageParam: (last) => last.nextCursor ?? undefined },
    ),
  );
  const rows = query.data?.pages.flatMap((p) => p.rows) ?? [];
  const total = query.data?.pages[0]?.total ?? null;
  return (
    <>
      <Toolbar state={state} columns={filterColumns} />
      <ErrorAlert error={query.error} />
      {query.isPending ? (
        <Loading what="requests" />
      ) : rows.length === 0 ? (
        <EmptyState title="No requests in this range">Widen the time range or remove a filter.</EmptyState>
      ) : (
        <>
          <p className="fp-an-summary" data-testid="l7-total">
            {total !== null
              ? `${total.toLocaleString("en-US")} requests match · click a row to open its trace`
              : ""}
          </p>
          <VirtualTable
            caption="L7 logs"
            columns={columns}
            rows={rows}
            rowKey={(r) => `${r.agent_id}/${r.flow_id}/${r.req_tcp_seq}/${r.start_time}`}
            sort={sort}
            dir={dir}
            onSort={(k) => state.set({ sort: k, dir: k === sort && dir === "desc" ? "asc" : "desc" })}
            onRowClick={(r) => router.push(traceHref(orgSlug, r))}
            hasMore={query.hasNextPage}
            loadingMore={query.isFetchingNextPage}
            onLoadMore={() => void query.fetchNextPage()}
          />
        </>
      )}
    </>
  );
}
