import type { BadgeTone } from "./Badge.tsx";

export type StateSpan = { from: number; to: number; state: string };

const COLOURS: Record<BadgeTone | "gap", string> = {
  ok: "#1a7f37",
  warn: "#bf8700",
  bad: "#cf222e",
  info: "#2f6fde",
  neutral: "#8c959f",
  gap: "#eaeef2",
};

/**
 * A state over time as one horizontal strip (e.g. an agent's online / degraded / silent spans).
 * `spans` are in any time unit, inside [from, to]; time not covered is drawn as a gap. The strip
 * is an image with a summary for screen readers; the legend repeats the colours in words.
 */
export function StateTimeline({
  spans,
  from,
  to,
  tones,
  gapLabel = "no data",
  label,
}: {
  spans: StateSpan[];
  from: number;
  to: number;
  tones: Record<string, BadgeTone>;
  gapLabel?: string;
  label: string;
}) {
  const total = Math.max(1, to - from);
  const share = new Map<string, number>();
  for (const s of spans) share.set(s.state, (share.get(s.state) ?? 0) + Math.max(0, s.to - s.from));
  const covered = [...share.values()].reduce((a, b) => a + b, 0);
  const pct = (v: number) => `${Math.round((v / total) * 1000) / 10}%`;
  const summary = [
    ...[...share.entries()].map(([state, d]) => `${state} ${pct(d)}`),
    ...(covered < total ? [`${gapLabel} ${pct(total - covered)}`] : []),
  ].join(", ");
  return (
    <div className="fp-timeline">
      <svg
        role="img"
        aria-label={`${label}: ${summary || gapLabel}`}
        viewBox="0 0 1000 16"
        preserveAspectRatio="none"
        width="100%"
        height="16"
      >
        <rect x="0" y="0" width="1000" height="16" fill={COLOURS.gap} />
        {spans.map((s) => (
          <rect
            key={`${s.from}-${s.state}`}
            x={((Math.max(s.from, from) - from) / total) * 1000}
            y="0"
            width={(Math.max(0, Math.min(s.to, to) - Math.max(s.from, from)) / total) * 1000}
            height="16"
            fill={COLOURS[tones[s.state] ?? "neutral"]}
          >
            <title>{s.state}</title>
          </rect>
        ))}
      </svg>
      <ul className="fp-timeline-legend" aria-hidden="true">
        {[...share.keys(), ...(covered < total ? [gapLabel] : [])].map((state) => (
          <li key={state}>
            <span
              className="fp-timeline-swatch"
              style={{ background: state === gapLabel ? COLOURS.gap : COLOURS[tones[state] ?? "neutral"] }}
            />
            {state}
          </li>
        ))}
      </ul>
    </div>
  );
}
