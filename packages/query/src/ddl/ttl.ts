import { z } from "zod";

/** Tables whose rows expire, with the column their TTL counts from. */
export const TTL_TABLES = {
  l4_flow_log: "end_time",
  l7_flow_log: "start_time",
  network_metrics: "time",
  network_metrics_1m: "time",
  application_metrics: "time",
  application_metrics_1m: "time",
  network_metrics_1h: "time",
  application_metrics_1h: "time",
  l4_edge_1h: "time",
  l7_edge_lat_1h: "time",
} as const;
export type TTtlTable = keyof typeof TTL_TABLES;

/** Days kept per table by default; 0 keeps rows forever (TTL off). */
export const DEFAULT_TTL_DAYS: Record<TTtlTable, number> = {
  l4_flow_log: 3,
  l7_flow_log: 3,
  network_metrics: 3,
  network_metrics_1m: 30,
  application_metrics: 3,
  application_metrics_1m: 30,
  network_metrics_1h: 90,
  application_metrics_1h: 90,
  l4_edge_1h: 90,
  l7_edge_lat_1h: 90,
};

export const ZTtlDays = z.number().int().min(0).max(36_500);

/**
 * `{ ttlDays: { l4_flow_log: 3, ... } }` (missing tables keep their defaults), `{ ttlDays: 7 }` (every
 * table), or "off" to keep every row (replays of old captures).
 */
export const ZTtlConfig = z.union([
  z.literal("off"),
  z.object({
    ttlDays: z.union([
      ZTtlDays,
      z.partialRecord(z.enum(Object.keys(TTL_TABLES) as [TTtlTable, ...TTtlTable[]]), ZTtlDays),
    ]),
  }),
]);
export type TTtlConfig = z.input<typeof ZTtlConfig>;

export function resolveTtlDays(config: TTtlConfig | undefined): Record<TTtlTable, number> {
  const parsed = ZTtlConfig.parse(config ?? { ttlDays: {} });
  if (parsed === "off") {
    return Object.fromEntries(Object.keys(TTL_TABLES).map((t) => [t, 0])) as Record<TTtlTable, number>;
  }
  const days = parsed.ttlDays;
  if (typeof days === "number") {
    return Object.fromEntries(Object.keys(TTL_TABLES).map((t) => [t, days])) as Record<TTtlTable, number>;
  }
  return { ...DEFAULT_TTL_DAYS, ...days };
}

/** Days of the TTL clause in a table's `engine_full`, 0 when it has none. */
export function ttlDaysOf(engineFull: string): number {
  const clause = /\bTTL\s+(.*?)(?:\s+SETTINGS\s|$)/s.exec(engineFull)?.[1];
  if (!clause) return 0;
  const days = /toIntervalDay\((\d+)\)/.exec(clause)?.[1] ?? /INTERVAL\s+(\d+)\s+DAY/i.exec(clause)?.[1];
  // A TTL we did not write: report it as different from anything we would set.
  return days === undefined ? -1 : Number(days);
}

export function ttlExpression(table: TTtlTable, days: number): string {
  return `toDateTime(${TTL_TABLES[table]}) + toIntervalDay(${days})`;
}
