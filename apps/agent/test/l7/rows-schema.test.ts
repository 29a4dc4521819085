import { readdirSync } from "node:fs";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { ZApplicationMetricsRow, ZL7FlowLogRow } from "@flowplane/query/rows";
import { expect, it } from "vitest";
import { driveCapture } from "./driver.ts";

// The agent's L7 and application-metrics rows must be exactly what packages/query defines, or
// the controller's ingest would reject them.
it("every L7 row and application-metrics row from the shared captures validates against packages/query", () => {
  const dir = sharedPcapsDir();
  const bad: string[] = [];
  let rows = 0;
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".pcap"))) {
    const r = driveCapture(join(dir, f));
    for (const row of r.rows) {
      rows++;
      const p = ZL7FlowLogRow.safeParse(row);
      if (!p.success) bad.push(`${f}: ${p.error.issues[0]?.path.join(".")} ${p.error.issues[0]?.message}`);
    }
    for (const row of r.metrics) {
      const p = ZApplicationMetricsRow.safeParse(row);
      if (!p.success)
        bad.push(`${f} (metrics): ${p.error.issues[0]?.path.join(".")} ${p.error.issues[0]?.message}`);
    }
  }
  expect(bad).toEqual([]);
  expect(rows).toBeGreaterThan(100);
});
