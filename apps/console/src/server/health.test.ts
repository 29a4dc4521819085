import { describe, expect, it } from "vitest";
import { pingClickhouse, runHealthChecks } from "./health.ts";

describe("runHealthChecks", () => {
  it("is ok when every probe answers", async () => {
    const report = await runHealthChecks({ a: async () => 1, b: async () => 2 });
    expect(report.status).toBe("ok");
    expect(report.checks.a?.ok).toBe(true);
  });

  it("names the failing check with a one-line error", async () => {
    const report = await runHealthChecks({
      postgres: async () => 1,
      clickhouse: () =>
        pingClickhouse({ ping: async () => ({ success: false, error: new Error("ECONNREFUSED\nstack") }) }),
    });
    expect(report.status).toBe("failing");
    expect(report.checks.postgres?.ok).toBe(true);
    expect(report.checks.clickhouse).toMatchObject({ ok: false, error: "ECONNREFUSED" });
  });
});
