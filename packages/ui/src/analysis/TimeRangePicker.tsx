"use client";

import { type FormEvent, useState } from "react";

export type PickedRange =
  | { kind: "relative"; range: string }
  | { kind: "absolute"; from: string; to: string };

/** Relative presets (15m … 7d) or an absolute from/to (UTC, ISO 8601). */
export function TimeRangePicker({
  value,
  presets,
  onChange,
}: {
  value: PickedRange;
  presets: string[];
  onChange: (r: PickedRange) => void;
}) {
  const [custom, setCustom] = useState(value.kind === "absolute");
  const toLocal = (iso: string) => iso.slice(0, 16);
  function onApply(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const from = String(f.get("from") ?? "");
    const to = String(f.get("to") ?? "");
    if (from && to) onChange({ kind: "absolute", from: `${from}:00Z`, to: `${to}:00Z` });
  }
  return (
    <fieldset className="fp-trp" aria-label="Time range" style={{ border: 0, margin: 0, padding: 0 }}>
      {presets.map((p) => (
        <button
          type="button"
          key={p}
          className={`fp-trp-btn${value.kind === "relative" && value.range === p ? " fp-trp-on" : ""}`}
          onClick={() => {
            setCustom(false);
            onChange({ kind: "relative", range: p });
          }}
        >
          {p}
        </button>
      ))}
      <button
        type="button"
        className={`fp-trp-btn${custom ? " fp-trp-on" : ""}`}
        onClick={() => setCustom(!custom)}
      >
        Custom
      </button>
      {custom ? (
        <form className="fp-trp-abs" onSubmit={onApply}>
          <label>
            From (UTC){" "}
            <input
              name="from"
              type="datetime-local"
              className="fp-input"
              defaultValue={value.kind === "absolute" ? toLocal(value.from) : ""}
            />
          </label>
          <label>
            To (UTC){" "}
            <input
              name="to"
              type="datetime-local"
              className="fp-input"
              defaultValue={value.kind === "absolute" ? toLocal(value.to) : ""}
            />
          </label>
          <button type="submit" className="fp-trp-btn">
            Apply
          </button>
        </form>
      ) : null}
    </fieldset>
  );
}
