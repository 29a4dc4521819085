import { describe, expect, it } from "vitest";
import { DEFAULT_TTL_DAYS, resolveTtlDays, ttlDaysOf, ttlExpression } from "./ttl.ts";

describe("TTL configuration", () => {
  it("resolves defaults, per-table days, one number and off", () => {
    expect(resolveTtlDays(undefined)).toEqual(DEFAULT_TTL_DAYS);
    expect(resolveTtlDays({ ttlDays: { l4_flow_log: 1 } }).l4_flow_log).toBe(1);
    expect(resolveTtlDays({ ttlDays: { l4_flow_log: 1 } }).network_metrics_1m).toBe(30);
    expect(new Set(Object.values(resolveTtlDays({ ttlDays: 7 })))).toEqual(new Set([7]));
    expect(new Set(Object.values(resolveTtlDays("off")))).toEqual(new Set([0]));
    expect(() => resolveTtlDays({ ttlDays: { l4_flow_log: -1 } })).toThrow();
  });

  it("reads the days back from engine_full", () => {
    expect(ttlDaysOf("MergeTree PARTITION BY x ORDER BY y SETTINGS index_granularity = 8192")).toBe(0);
    expect(
      ttlDaysOf(
        `MergeTree PARTITION BY x ORDER BY y TTL ${ttlExpression("l4_flow_log", 3)} SETTINGS index_granularity = 8192`,
      ),
    ).toBe(3);
    expect(ttlDaysOf("MergeTree ORDER BY y TTL toDateTime(t) + toIntervalHour(5)")).toBe(-1);
  });
});
