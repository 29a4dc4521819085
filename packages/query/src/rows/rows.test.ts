import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { appRow, l4Row, l7Row } from "../testing-fixtures.ts";
import {
  ApplicationMetrics,
  decodeRow,
  encodeRow,
  L4FlowLog,
  LATENCY_BUCKETS,
  latencyBucketOf,
  ZApplicationMetricsRow,
  ZL4FlowLogRow,
  ZL7FlowLogRow,
} from "./index.ts";

describe("rows", () => {
  it("the rows subpath imports nothing but zod and its own files", () => {
    const dir = new URL(".", import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
      const src = readFileSync(new URL(file, dir), "utf8");
      const specifiers = [...src.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]);
      for (const s of specifiers)
        expect(s === "zod" || s?.startsWith("./"), `${file} imports ${s}`).toBe(true);
    }
  });

  it("accepts an agent row and normalises ids and addresses", () => {
    const row = ZL4FlowLogRow.parse(
      l4Row({ org_id: "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", client_ip: "::ffff:10.0.0.1" }),
    );
    expect(row.org_id).toBe("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    expect(row.client_ip).toBe("10.0.0.1");
    expect(row.flow_id).toBe("9223372036854775809");
  });

  it("rejects bad values with the column named", () => {
    const r = ZL4FlowLogRow.safeParse(l4Row({ client_ip: "10.0.0.300", server_port: 70000, flow_id: "-1" }));
    expect(r.success).toBe(false);
    const paths = r.error?.issues.map((i) => i.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["client_ip", "server_port", "flow_id"]));
    expect(ZL4FlowLogRow.safeParse(l4Row({ flow_id: "18446744073709551616" })).success).toBe(false);
    expect(ZL7FlowLogRow.safeParse(l7Row({ response_code: null })).success).toBe(true);
    expect(ZApplicationMetricsRow.safeParse(appRow({ latency_buckets: [1, 2] })).success).toBe(false);
  });

  it("encodes absent tunnel endpoints for the IPv6 column and decodes them back", () => {
    const row = ZL4FlowLogRow.parse(l4Row());
    const enc = encodeRow(L4FlowLog, row);
    expect(enc.tunnel_outer_src).toBe("::");
    expect("is_final" in enc).toBe(false);
    const back = decodeRow(L4FlowLog, {
      ...enc,
      bytes_s2c: "64000",
      client_ip: "::ffff:10.0.0.1",
      is_final: true,
    });
    expect(back.tunnel_outer_src).toBe("");
    expect(back.bytes_s2c).toBe(64000);
    expect(back.client_ip).toBe("10.0.0.1");
  });

  it("buckets latencies into the fixed histogram", () => {
    expect(LATENCY_BUCKETS).toBe(14);
    expect(latencyBucketOf(0)).toBe(0);
    expect(latencyBucketOf(1_000)).toBe(0);
    expect(latencyBucketOf(1_001)).toBe(1);
    expect(latencyBucketOf(60_000_000)).toBe(13);
    expect(Object.keys(ApplicationMetrics.columns)).toContain("latency_buckets");
  });
});
