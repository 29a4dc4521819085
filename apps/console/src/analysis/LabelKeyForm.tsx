"use client";

import { readLabelKey, TAG_GROUPS } from "./topology-groups.ts";

/** The K8s label key a view groups by (topology nodes, metrics rows), kept in the URL by the caller. */
export function LabelKeyForm({
  labelKey,
  onChange,
}: {
  labelKey: string | undefined;
  onChange: (key: string | undefined) => void;
}) {
  return (
    <form
      className="fp-fb-add"
      aria-label="Label key"
      onSubmit={(e) => {
        e.preventDefault();
        onChange(readLabelKey(String(new FormData(e.currentTarget).get("labelKey") ?? "")));
      }}
    >
      <input
        name="labelKey"
        className="fp-input"
        aria-label="Label key"
        placeholder="label key, e.g. app"
        defaultValue={labelKey ?? ""}
        key={labelKey ?? ""}
      />
      <button type="submit" className="fp-trp-btn">
        Group
      </button>
    </form>
  );
}

/** The group-by choices of resource tags, K8s label last (its key from LabelKeyForm), under `label`. */
export function TagGroupOptions({ label }: { label: string }) {
  return (
    <optgroup label={label}>
      {TAG_GROUPS.map(([k, l]) => (
        <option key={k} value={k}>
          {l}
        </option>
      ))}
      <option value="label">K8s label…</option>
    </optgroup>
  );
}
