"use client";

import { EmptyState, Waterfall } from "@flowplane/ui";
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { ErrorAlert } from "../components/ErrorAlert.tsx";
import { useTRPC } from "../trpc/react.tsx";
import "./analysis.css";
import { fmtTime, fmtUs } from "./format.ts";
import { Loading, Toolbar } from "./Toolbar.tsx";
import { useUrlState } from "./use-url-state.ts";

const LINK_TEXT = {
  seed: "the request you opened",
  trace_id: "same trace id",
  x_request_id: "same X-Request-ID",
  tcp_seq: "same TCP sequence on another agent",
};

/** Trace lookup (trace id, X-Request-ID, or an L7 row), waterfall, span detail, break explanations. */
export function TracesView({ orgSlug }: { orgSlug: string }) {
  const trpc = useTRPC();
  const state = useUrlState("1h");
  const traceId = state.get("trace") ?? undefined;
  const xRequestId = state.get("xrid") ?? undefined;
  // An L7 row without a trace key: (agent, flow id, request sequence); flow ids are per agent.
  const flowId = state.get("flow") ?? undefined;
  const agentId = state.get("agent") ?? undefined;
  const seq = state.get("seq");
  const reqTcpSeq = seq && /^\d+$/.test(seq) ? Number(seq) : undefined;
  const flowWithoutAgent = Boolean(flowId && !agentId && !traceId && !xRequestId);
  const has = Boolean(traceId || xRequestId || (flowId && agentId));
  const query = useQuery({
    ...trpc.analysis.trace.queryOptions({
      orgSlug,
      ...state.micros,
      traceId,
      xRequestId,
      flowId: agentId ? flowId : undefined,
      reqTcpSeq,
      agentId,
    }),
    enabled: has,
  });
  const [selected, setSelected] = useState<string | undefined>();
  function onLookup(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const kind = String(f.get("kind"));
    const v = String(f.get("value") ?? "").trim();
    if (v)
      state.set({
        trace: kind === "trace" ? v : undefined,
        xrid: kind === "xrid" ? v : undefined,
        flow: undefined,
        agent: undefined,
        seq: undefined,
      });
  }
  const spans = query.data?.spans ?? [];
  const breaks = query.data?.breaks ?? [];
  const sel = spans.find((s) => s.key === selected) ?? spans[0];
  const brokenAt = new Map<number, string>();
  for (const b of breaks) brokenAt.set(b.span, [brokenAt.get(b.span), b.message].filter(Boolean).join("; "));
  return (
    <>
      <Toolbar state={state}>
        <form className="fp-fb-add" onSubmit={onLookup} aria-label="Find a trace">
          <select
            name="kind"
            className="fp-input"
            defaultValue={xRequestId ? "xrid" : "trace"}
            aria-label="Key"
          >
            <option value="trace">Trace id</option>
            <option value="xrid">X-Request-ID</option>
          </select>
          <input
            name="value"
            className="fp-input"
            aria-label="Trace key"
            defaultValue={traceId ?? xRequestId ?? ""}
            placeholder="4bf92f35…"
          />
          <button type="submit" className="fp-trp-btn">
            Find
          </button>
        </form>
      </Toolbar>
      <ErrorAlert error={query.error} />
      {flowWithoutAgent ? (
        <EmptyState title="Which agent saw this request?">
          This link names a flow but no agent, and flow ids are unique per agent only. Open the request again
          from the L7 logs page.
        </EmptyState>
      ) : !has ? (
        <EmptyState title="Open a trace">
          Enter a trace id or X-Request-ID, or click a request on the L7 logs page.
        </EmptyState>
      ) : query.isPending ? (
        <Loading what="the trace" />
      ) : spans.length === 0 ? (
        <EmptyState title="No spans found">
          No agent saw a request with this key within an hour of the range.
        </EmptyState>
      ) : (
        <div className="fp-an-split">
          <p className="fp-an-summary">
            {spans.length} spans across {new Set(spans.map((s) => s.row.agent_id)).size} agents ·{" "}
            {breaks.length ? `${breaks.length} problem${breaks.length === 1 ? "" : "s"}` : "complete"}
          </p>
          {breaks.length ? (
            <section aria-label="Where the trace breaks" data-testid="trace-breaks">
              {breaks.map((b, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: breaks are a fixed list
                <div key={i} className="fp-an-break">
                  <b>{b.kind.replaceAll("_", " ")}</b> at span {b.span + 1}: {b.message}
                </div>
              ))}
            </section>
          ) : null}
          <Waterfall
            spans={spans.map((s, i) => ({
              key: s.key,
              label: `${i + 1}. ${s.row.request_type} ${s.row.endpoint || s.row.request_resource}`,
              sublabel: `${s.row.server_ip}:${s.row.server_port} · agent …${s.row.agent_id.slice(-4)}`,
              start: s.row.start_time,
              end: s.row.end_time,
              depth: s.depth,
              tone: !s.inRange ? "muted" : s.row.response_status === "ok" ? "ok" : "bad",
              marker: brokenAt.get(i),
            }))}
            selected={sel?.key}
            onSelect={setSelected}
            formatDuration={fmtUs}
          />
          {sel ? (
            <section className="fp-an-detail" aria-label="Span detail">
              <h2>Span detail</h2>
              <dl className="fp-an-kv">
                {(
                  [
                    ["Start", fmtTime(sel.row.start_time)],
                    ["Duration", fmtUs(sel.row.response_duration_us)],
                    ["Client", `${sel.row.client_ip}:${sel.row.client_port}`],
                    ["Server", `${sel.row.server_ip}:${sel.row.server_port}`],
                    ["Protocol", sel.row.l7_protocol],
                    [
                      "Request",
                      `${sel.row.request_type} ${sel.row.request_domain}${sel.row.request_resource}`,
                    ],
                    ["Status", `${sel.row.response_status} ${sel.row.response_code ?? ""}`],
                    ["Agent", sel.row.agent_id],
                    ["Trace id", sel.row.trace_id || "—"],
                    ["Span / parent", `${sel.row.span_id || "—"} / ${sel.row.parent_span_id || "—"}`],
                    ["X-Request-ID", sel.row.x_request_id || "—"],
                    ["TCP seq req/resp", `${sel.row.req_tcp_seq} / ${sel.row.resp_tcp_seq}`],
                    ["Joined by", LINK_TEXT[sel.linkedBy]],
                    ["Flow", sel.row.flow_id],
                  ] as const
                ).map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </div>
                ))}
              </dl>
            </section>
          ) : null}
        </div>
      )}
    </>
  );
}
