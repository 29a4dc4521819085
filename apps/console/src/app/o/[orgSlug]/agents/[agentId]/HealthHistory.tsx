"use client";

import { Card, EmptyState, type StateSpan, StateTimeline, TimeSeriesChart } from "@flowplane/ui";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { ErrorAlert } from "../../../../../components/ErrorAlert.tsx";
import { useTRPC } from "../../../../../trpc/react.tsx";

const RANGES = [
  { id: "1h", label: "1 hour", ms: 3_600_000 },
  { id: "6h", label: "6 hours", ms: 6 * 3_600_000 },
  { id: "24h", label: "24 hours", ms: 24 * 3_600_000 },
  { id: "7d", label: "7 days", ms: 7 * 24 * 3_600_000 },
] as const;
type RangeId = (typeof RANGES)[number]["id"];

const TONES = {
  online: "ok",
  degraded: "warn",
  protective: "warn",
  offline: "bad",
  pending: "info",
} as const;

const fmt = (digits: number) => (v: number) => v.toLocaleString("en-US", { maximumFractionDigits: digits });

/**
 * CPU, memory, packets/s, drops and state from the agent's heartbeats (ClickHouse agent_health),
 * over a chosen range that slides every 30 s. A step without a heartbeat is a gap ("silent").
 */
export function HealthHistory({ orgSlug, agentId }: { orgSlug: string; agentId: string }) {
  const trpc = useTRPC();
  const [rangeId, setRangeId] = useState<RangeId>("1h");
  // Re-anchored on every fetch so the window moves with time; rounded to keep the query key stable.
  const [anchor, setAnchor] = useState(() => Math.ceil(Date.now() / 10_000) * 10_000);
  const range = RANGES.find((r) => r.id === rangeId) ?? RANGES[0];
  const input = { orgSlug, agentId, from: (anchor - range.ms) * 1000, to: anchor * 1000 };
  // The window slides every 30 s (a new query key); the previous data stays shown meanwhile.
  useEffect(() => {
    const timer = setInterval(() => setAnchor(Math.ceil(Date.now() / 10_000) * 10_000), 30_000);
    return () => clearInterval(timer);
  }, []);
  const q = useQuery({
    ...trpc.agents.health.queryOptions(input),
    placeholderData: (prev) => prev,
    // A store that did not answer is said at once; the 30 s slide asks again.
    retry: (count, err) => err.data?.code !== "SERVICE_UNAVAILABLE" && count < 1,
  });
  const points = q.data?.points ?? [];
  const stepMs = (q.data?.stepS ?? 10) * 1000;
  const spans = useMemo(() => {
    const out: StateSpan[] = [];
    for (const p of points) {
      const t = p.time / 1000;
      const last = out[out.length - 1];
      if (last && last.state === p.state && last.to >= t) last.to = t + stepMs;
      else out.push({ from: t, to: t + stepMs, state: p.state });
    }
    return out;
  }, [points, stepMs]);
  // A missing step is a silent agent: a null point there breaks the line instead of bridging it.
  const series = (key: "cpu_pct" | "mem_bytes" | "packets_per_s" | "drops", scale = 1) => {
    const out: { time: number; values: Record<string, number | null> }[] = [];
    let prev: number | undefined;
    for (const p of points) {
      if (prev !== undefined && p.time - prev > stepMs * 1000)
        out.push({ time: prev + stepMs * 1000, values: { [key]: null } });
      out.push({ time: p.time, values: { [key]: p[key] / scale } });
      prev = p.time;
    }
    return out;
  };
  const domain: [number, number] = [(anchor - range.ms) * 1000, anchor * 1000];

  return (
    <Card
      title="Health history"
      actions={
        <fieldset className="fp-segmented" aria-label="Time range">
          {RANGES.map((r) => (
            <label key={r.id}>
              <input
                type="radio"
                name="health-range"
                value={r.id}
                checked={r.id === rangeId}
                onChange={() => {
                  setRangeId(r.id);
                  setAnchor(Math.ceil(Date.now() / 10_000) * 10_000);
                }}
              />
              <span>{r.label}</span>
            </label>
          ))}
        </fieldset>
      }
    >
      {q.isError && <ErrorAlert error={q.error} />}
      {q.isError && !q.data ? null : q.isPending ? (
        <p className="fp-loading" role="status">
          Loading health history…
        </p>
      ) : points.length === 0 ? (
        <EmptyState title="No heartbeats in this range">
          History starts once the agent checks in; heartbeats are kept for 30 days.
        </EmptyState>
      ) : (
        <div className="fp-stack">
          <div>
            <h3 className="fp-stat-label">State</h3>
            <StateTimeline
              label="Agent state over the range"
              spans={spans}
              from={anchor - range.ms}
              to={anchor}
              tones={TONES}
              gapLabel="silent"
            />
          </div>
          <div className="fp-grid" style={{ gridTemplateColumns: "repeat(auto-fill, minmax(420px, 1fr))" }}>
            <div>
              <h3 className="fp-stat-label">CPU %</h3>
              <TimeSeriesChart
                points={series("cpu_pct")}
                series={[{ key: "cpu_pct", label: "CPU %" }]}
                height={160}
                domain={domain}
                format={fmt(1)}
              />
            </div>
            <div>
              <h3 className="fp-stat-label">Memory (MB, peak per step)</h3>
              <TimeSeriesChart
                points={series("mem_bytes", 1_048_576)}
                series={[{ key: "mem_bytes", label: "Memory MB" }]}
                height={160}
                domain={domain}
                format={fmt(0)}
              />
            </div>
            <div>
              <h3 className="fp-stat-label">Packets/s</h3>
              <TimeSeriesChart
                points={series("packets_per_s")}
                series={[{ key: "packets_per_s", label: "Packets/s" }]}
                height={160}
                domain={domain}
                format={fmt(0)}
              />
            </div>
            <div>
              <h3 className="fp-stat-label">Drops</h3>
              <TimeSeriesChart
                points={series("drops")}
                series={[{ key: "drops", label: "Drops" }]}
                height={160}
                domain={domain}
                format={fmt(0)}
              />
            </div>
          </div>
          <p className="fp-hint">
            One point per {q.data?.stepS ?? 10} s: CPU and packets/s averaged, memory and drops at their
            highest.
          </p>
        </div>
      )}
    </Card>
  );
}
