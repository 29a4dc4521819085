/**
 * How a DataTable column shows its values. Columns are described by data (not render functions)
 * so a server component can hand them to the client-side table across the RSC boundary.
 */
export type CellKind = "text" | "mono" | "number" | "datetime" | "relative" | "state";

export function formatCell(kind: CellKind, value: unknown, now: number = Date.now()): string {
  if (value === null || value === undefined || value === "") return "—";
  switch (kind) {
    case "number":
      return typeof value === "number" ? value.toLocaleString("en-US") : String(value);
    case "datetime": {
      const d = toDate(value);
      return d ? d.toISOString().replace("T", " ").slice(0, 19) : String(value);
    }
    case "relative": {
      const d = toDate(value);
      return d ? relative(now - d.getTime()) : String(value);
    }
    default:
      return String(value);
  }
}

function toDate(value: unknown): Date | null {
  const d = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(d.getTime()) ? null : d;
}

function relative(ms: number): string {
  const s = Math.round(ms / 1000);
  // Future times (expiries) read "in …"; a few seconds ahead is clock skew: "just now".
  if (s < -5) return `in ${span(-s)}`;
  if (s < 0) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

function span(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
