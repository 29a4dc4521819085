/**
 * application_metrics rows summed per key (time, server, protocol, endpoint), for tests that
 * compare two runs whose rows for one key may be split differently (the native path's C
 * aggregator beside the JS one, one aggregator per shard, late-second corrections).
 */
import { expect } from "vitest";

/** Counters that are part of a key, not summed. */
const KEY_COLUMNS = new Set(["time", "server_port"]);

/** JSONL rows summed per key (max for the maximum), keys sorted. */
export function metricsByKey(rows: string[]): [string, Record<string, unknown>][] {
  const out = new Map<string, Record<string, unknown>>();
  for (const line of rows) {
    const r = JSON.parse(line) as Record<string, unknown>;
    const key = JSON.stringify([r.time, r.server_ip, r.server_port, r.l7_protocol, r.endpoint]);
    const acc = out.get(key);
    if (acc === undefined) {
      out.set(key, r);
      continue;
    }
    for (const [k, v] of Object.entries(r)) {
      const a = acc[k];
      if (k === "duration_max_us") acc[k] = Math.max(a as number, v as number);
      else if (typeof v === "number" && typeof a === "number" && !KEY_COLUMNS.has(k)) acc[k] = a + v;
      else if (Array.isArray(v) && Array.isArray(a))
        acc[k] = a.map((x, i) => (x as number) + (v[i] as number));
      // Identity columns (org, agent and the key's own) must agree between a key's rows.
      else expect(v, `${k} of ${key}`).toEqual(a);
    }
  }
  return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
