/**
 * The agent's rows against the one row definition (`@flowplane/query/rows`): every key is a
 * column, every value passes the column's schema, every required column is present.
 */
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { L4FlowLog, NetworkMetrics } from "@flowplane/query/rows";
import { describe, expect, it } from "vitest";
import { analyzeFileSync } from "../src/analyze.ts";
import type { L4FlowRow, NetworkMetricsRow } from "../src/flow/flow-engine.ts";

const dir = sharedPcapsDir();
const files = [
  "vxlan-http.pcap",
  "ipv6-ftp.pcap",
  "tcp-syn-ack-retrans.pcap",
  "dns-udp.pcap",
  "gre-sample.pcap",
];

describe("rows match @flowplane/query/rows", () => {
  it.each(files)("%s", (file) => {
    const l4: L4FlowRow[] = [];
    const nm: NetworkMetricsRow[] = [];
    analyzeFileSync(join(dir, file), {
      maxFlows: 4096,
      orgId: "11111111-1111-4111-8111-111111111111",
      onL4: (r) => l4.push(r),
      onNetworkMetrics: (r) => nm.push(r),
    });
    expect(l4.length).toBeGreaterThan(0);
    expect(nm.length).toBeGreaterThan(0);
    const l4Cols = new Set(Object.keys(L4FlowLog.columns));
    const nmCols = new Set(Object.keys(NetworkMetrics.columns));
    for (const r of l4) {
      expect(Object.keys(r).filter((k) => !l4Cols.has(k))).toEqual([]);
      const parsed = L4FlowLog.schema.safeParse(r);
      expect(parsed.success ? "ok" : parsed.error.issues).toBe("ok");
    }
    for (const r of nm) {
      expect(Object.keys(r).filter((k) => !nmCols.has(k))).toEqual([]);
      const parsed = NetworkMetrics.schema.safeParse(r);
      expect(parsed.success ? "ok" : parsed.error.issues).toBe("ok");
    }
  });
});
