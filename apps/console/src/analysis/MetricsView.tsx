"use client";

import { type BuilderColumn, EmptyState, TimeSeriesChart } from "@flowplane/ui";
import { useQuery } from "@tanstack/react-query";
import { ErrorAlert } from "../components/ErrorAlert.tsx";
import { useTRPC } from "../trpc/react.tsx";
import "./analysis.css";
import { fmtBytes, fmtPct, fmtRate, fmtUs } from "./format.ts";
import { LabelKeyForm, TagGroupOptions } from "./LabelKeyForm.tsx";
import { Loading, Toolbar } from "./Toolbar.tsx";
import { readLabelKey, TAG_GROUPS } from "./topology-groups.ts";
import { useUrlState } from "./use-url-state.ts";

const APDEX_CHOICES = [5, 10, 20, 50, 100, 200, 500, 1000];
type MetricsBy = "service" | "endpoint" | "label" | (typeof TAG_GROUPS)[number][0];
const BY: readonly string[] = ["service", "endpoint", "label", ...TAG_GROUPS.map((t) => t[0])];
const TIER_TEXT = { raw: "per-second metrics", "1m": "per-minute rollups", "1h": "hourly rollups" };

/** RED per service, endpoint or server tag, Apdex, TCP health, and their series. */
export function MetricsView({
  orgSlug,
  groups,
  filterColumns,
}: {
  orgSlug: string;
  groups: { id: number; name: string }[];
  /** Both metrics tables' columns (a filter applies to the tables holding its column). */
  filterColumns: BuilderColumn[];
}) {
  const trpc = useTRPC();
  const state = useUrlState("1h");
  const byParam = state.get("by");
  const by = (byParam && BY.includes(byParam) ? byParam : "service") as MetricsBy;
  const labelKey = readLabelKey(state.get("labelKey"));
  const needsKey = by === "label" && !labelKey;
  const apdexParam = Number(state.get("apdex") ?? 100);
  const apdexMs = APDEX_CHOICES.includes(apdexParam) ? apdexParam : 100;
  const g = state.get("group");
  const groupId = g && /^\d+$/.test(g) ? Number(g) : undefined;
  const query = useQuery({
    ...trpc.analysis.metrics.queryOptions({
      orgSlug,
      ...state.micros,
      by,
      labelKey: by === "label" ? labelKey : undefined,
      apdexMs,
      groupId,
      filters: state.filters,
    }),
    enabled: !needsKey,
  });
  const d = query.data;
  const byText =
    by === "label" ? `label ${labelKey ?? ""}` : (TAG_GROUPS.find((t) => t[0] === by)?.[1] ?? by);
  const firstHeader = by === "service" || by === "endpoint" ? "Service" : `Server ${byText}`;
  const columnLabel = (id: string) => filterColumns.find((c) => c.id === id)?.label ?? id;
  return (
    <>
      <Toolbar state={state} columns={filterColumns}>
        <label style={{ fontSize: 13 }}>
          Per{" "}
          <select
            className="fp-input"
            style={{ width: "auto" }}
            value={by}
            aria-label="Per"
            onChange={(e) => state.set({ by: e.target.value })}
          >
            <option value="service">service</option>
            <option value="endpoint">endpoint</option>
            <TagGroupOptions label="Server resource tags" />
          </select>
        </label>
        {by === "label" ? (
          <LabelKeyForm labelKey={labelKey} onChange={(k) => state.set({ labelKey: k })} />
        ) : null}
        <label style={{ fontSize: 13 }}>
          Apdex T{" "}
          <select
            className="fp-input"
            style={{ width: "auto" }}
            value={apdexMs}
            onChange={(e) => state.set({ apdex: e.target.value })}
          >
            {APDEX_CHOICES.map((ms) => (
              <option key={ms} value={ms}>
                {ms} ms
              </option>
            ))}
          </select>
        </label>
        <label style={{ fontSize: 13 }}>
          Agent group{" "}
          <select
            className="fp-input"
            style={{ width: "auto" }}
            value={groupId ?? ""}
            onChange={(e) => state.set({ group: e.target.value || undefined })}
          >
            <option value="">all</option>
            {groups.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        {d ? (
          <span className="fp-muted" style={{ fontSize: 12 }}>
            from {TIER_TEXT[d.tier]}
          </span>
        ) : null}
      </Toolbar>
      <ErrorAlert error={query.error} />
      {d && (d.redSkips.length > 0 || d.tcpSkips.length > 0) ? (
        <p className="fp-muted" style={{ fontSize: 12 }} data-testid="metrics-skips">
          {d.redSkips.length > 0
            ? `RED ignores ${d.redSkips.map(columnLabel).join(", ")} (its rows are per server, summed over clients). `
            : ""}
          {d.tcpSkips.length > 0 ? `TCP ignores ${d.tcpSkips.map(columnLabel).join(", ")}.` : ""}
        </p>
      ) : null}
      {needsKey ? (
        <EmptyState title="Which label?">Enter the K8s label key to group by, e.g. app.</EmptyState>
      ) : query.isPending ? (
        <Loading what="metrics" />
      ) : !d || (d.red.length === 0 && d.tcp.length === 0) ? (
        <EmptyState title="No metrics in this range">
          Widen the time range, pick another agent group or remove a filter.
        </EmptyState>
      ) : (
        <div className="fp-an-split">
          <div className="fp-an-grid2">
            <section className="fp-an-panel">
              <h2>Requests and errors</h2>
              <TimeSeriesChart
                points={d.appSeries}
                series={[
                  { key: "requests", label: "requests" },
                  { key: "errors", label: "errors" },
                ]}
              />
            </section>
            <section className="fp-an-panel">
              <h2>p95 latency</h2>
              <TimeSeriesChart
                points={d.appSeries}
                series={[{ key: "p95Us", label: "p95" }]}
                format={fmtUs}
              />
            </section>
            <section className="fp-an-panel">
              <h2>Bytes</h2>
              <TimeSeriesChart
                points={d.netSeries}
                series={[{ key: "bytes", label: "bytes" }]}
                format={fmtBytes}
              />
            </section>
            <section className="fp-an-panel">
              <h2>Retransmissions and RTT</h2>
              <TimeSeriesChart
                points={d.netSeries}
                series={[
                  { key: "retrans", label: "retransmissions" },
                  { key: "rttAvgUs", label: "RTT µs" },
                ]}
              />
            </section>
          </div>
          <section className="fp-an-panel">
            <h2>
              RED per {by === "service" || by === "endpoint" ? by : `server ${byText}`} (Apdex T ={" "}
              {fmtUs(d.apdexThresholdUs)})
            </h2>
            <table className="fp-an-table" data-testid="red-table">
              <thead>
                <tr>
                  <th>{firstHeader}</th>
                  {by === "endpoint" ? <th>Endpoint</th> : null}
                  <th>Protocol</th>
                  <th className="num">Requests</th>
                  <th className="num">Rate</th>
                  <th className="num">Errors</th>
                  <th className="num">Avg</th>
                  <th className="num">p95</th>
                  <th className="num">p99</th>
                  <th className="num">Apdex</th>
                </tr>
              </thead>
              <tbody>
                {d.red.map((r) => (
                  <tr key={`${r.service}/${r.l7_protocol}/${r.endpoint}`}>
                    <td>{r.service}</td>
                    {by === "endpoint" ? <td>{r.endpoint}</td> : null}
                    <td>{r.l7_protocol}</td>
                    <td className="num">{r.requests.toLocaleString("en-US")}</td>
                    <td className="num">{fmtRate(r.rate)}</td>
                    <td className="num">{fmtPct(r.errorPct)}</td>
                    <td className="num">{fmtUs(r.avgUs)}</td>
                    <td className="num">{fmtUs(r.p95Us)}</td>
                    <td className="num">{fmtUs(r.p99Us)}</td>
                    <td className="num">{r.apdex.toFixed(2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section className="fp-an-panel">
            <h2>TCP per {by === "service" || by === "endpoint" ? "server" : `server ${byText}`}</h2>
            <table className="fp-an-table" data-testid="tcp-table">
              <thead>
                <tr>
                  <th>{by === "service" || by === "endpoint" ? "Server" : `Server ${byText}`}</th>
                  <th className="num">Bytes</th>
                  <th className="num">New flows</th>
                  <th className="num">RTT</th>
                  <th className="num">Retrans.</th>
                  <th className="num">Zero windows</th>
                  <th className="num">Resets</th>
                  <th className="num">Timeouts</th>
                </tr>
              </thead>
              <tbody>
                {d.tcp.map((r) => (
                  <tr key={r.service}>
                    <td>{r.service}</td>
                    <td className="num">{fmtBytes(r.bytes)}</td>
                    <td className="num">{r.flows}</td>
                    <td className="num">{fmtUs(r.rttAvgUs)}</td>
                    <td className="num">{r.retrans}</td>
                    <td className="num">{r.zeroWin}</td>
                    <td className="num">{r.resets}</td>
                    <td className="num">{r.timeouts}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </div>
      )}
    </>
  );
}
