"use client";

import type { ReactNode } from "react";

export type WaterfallSpan = {
  key: string;
  label: string;
  sublabel?: string;
  start: number;
  end: number;
  depth: number;
  tone?: "ok" | "bad" | "warn" | "muted";
  marker?: string;
};

const TONES = { ok: "#2f6fde", bad: "#cf222e", warn: "#9a6700", muted: "#8c959f" };

/** Spans on a shared time axis, indented by depth; a click selects one. */
export function Waterfall({
  spans,
  selected,
  onSelect,
  formatDuration,
}: {
  spans: WaterfallSpan[];
  selected?: string;
  onSelect?: (key: string) => void;
  formatDuration: (us: number) => ReactNode;
}) {
  const t0 = Math.min(...spans.map((s) => s.start));
  const t1 = Math.max(...spans.map((s) => s.end));
  const total = Math.max(1, t1 - t0);
  return (
    <section className="fp-wf" aria-label="Trace waterfall">
      {spans.map((s) => {
        const left = ((s.start - t0) / total) * 100;
        const width = Math.max(0.4, ((s.end - s.start) / total) * 100);
        return (
          <button
            type="button"
            key={s.key}
            className={`fp-wf-row${selected === s.key ? " fp-wf-row-selected" : ""}`}
            onClick={() => onSelect?.(s.key)}
          >
            <span className="fp-wf-label" style={{ paddingLeft: 8 + s.depth * 14 }}>
              {s.marker ? (
                <span className="fp-wf-marker" title={s.marker}>
                  ⚠{" "}
                </span>
              ) : null}
              {s.label}
              {s.sublabel ? <span className="fp-muted"> · {s.sublabel}</span> : null}
            </span>
            <span className="fp-wf-track">
              <span
                className="fp-wf-bar"
                style={{ left: `${left}%`, width: `${width}%`, background: TONES[s.tone ?? "ok"] }}
              />
              <span className="fp-wf-dur" style={{ left: `min(${left + width}%, 85%)` }}>
                {formatDuration(s.end - s.start)}
              </span>
            </span>
          </button>
        );
      })}
    </section>
  );
}
