"use client";

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

const PALETTE = ["#2f6fde", "#cf222e", "#1a7f37", "#9a6700", "#8250df"];

/**
 * Lines over time (µs x axis) with Recharts; `series` names keys of each point's values. A null
 * value breaks the line (a gap); `domain` (µs) fixes the x axis to a range instead of the data's.
 */
export function TimeSeriesChart({
  points,
  series,
  height = 220,
  format = (v: number) => v.toLocaleString("en-US", { maximumFractionDigits: 2 }),
  domain,
}: {
  points: { time: number; values: Record<string, number | null> }[];
  series: { key: string; label: string }[];
  height?: number;
  format?: (v: number) => string;
  domain?: [number, number];
}) {
  const data = points.map((p) => ({ t: p.time / 1000, ...p.values }));
  const tick = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  return (
    <div style={{ width: "100%", height }}>
      <ResponsiveContainer>
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid stroke="#e1e4e8" strokeDasharray="3 3" />
          <XAxis
            dataKey="t"
            type="number"
            domain={domain ? [domain[0] / 1000, domain[1] / 1000] : ["dataMin", "dataMax"]}
            allowDataOverflow={domain !== undefined}
            tickFormatter={tick}
            fontSize={11}
          />
          <YAxis fontSize={11} tickFormatter={format} width={64} />
          <Tooltip
            labelFormatter={(v) => new Date(Number(v)).toISOString().replace("T", " ").slice(0, 19)}
            formatter={(v) => format(Number(v))}
          />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {series.map((s, i) => (
            <Line
              key={s.key}
              dataKey={s.key}
              name={s.label}
              dot={false}
              isAnimationActive={false}
              stroke={PALETTE[i % PALETTE.length]}
              strokeWidth={1.5}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
