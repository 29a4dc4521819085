/**
 * The real `analyze` path (capture reader → flow engine → L7 processor, `analyzeFile`) gives the
 * same L7 rows as the test driver that fidelity.test.ts compares with tshark, on every shared
 * capture with an L7 protocol; and the HTTP counts of the two tunnelled captures that a plain
 * "rows whose l7_protocol starts with http" count reports far from tshark's `http.request`
 * (40/15 and 23/22) are locked with their explanation (docs/l7-fidelity.md).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { describe, expect, it } from "vitest";
import { analyzeFile } from "../../src/index.ts";
import type { L7Row } from "../../src/l7/types.ts";
import { hasRequest, hasResponse, ofProto, tally } from "./counts.ts";
import { driveCapture } from "./driver.ts";

const dir = sharedPcapsDir();
// biome-ignore lint/suspicious/noExplicitAny: reference.json is tshark's free-form summary
const reference = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as Record<string, any>;
const L7_KEYS = ["http", "http2", "dns", "tls", "mysql", "pgsql", "redis", "kafka", "mqtt", "dubbo"];
const files = Object.keys(reference).filter((f) => L7_KEYS.some((k) => reference[f]![k]));

async function analyzeRows(file: string): Promise<L7Row[]> {
  const rows: L7Row[] = [];
  await analyzeFile(join(dir, file), { l7: {}, onL7: (r) => rows.push(r) });
  return rows;
}

/** What fidelity.test.ts compares with tshark, per protocol. */
function summary(rows: L7Row[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of [...new Set(rows.map((r) => r.l7_protocol))].sort()) {
    const x = ofProto(rows, p);
    out[p] = {
      rows: x.length,
      requests: x.filter(hasRequest).length,
      responses: x.filter(hasResponse).length,
      byType: tally(x.filter(hasRequest), (r) => r.request_type),
      byCode: tally(x.filter(hasResponse), (r) => String(r.response_code)),
      byStatus: tally(x, (r) => r.response_status),
    };
  }
  return out;
}

describe("analyze path = test driver on every shared L7 capture", () => {
  it("covers the shared L7 captures", () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
  });
  for (const file of files) {
    it(file, async () => {
      const viaAnalyze = summary(await analyzeRows(file));
      expect(viaAnalyze).toEqual(summary(driveCapture(join(dir, file)).rows));
    });
  }
});

describe("HTTP counts of the tunnelled captures, agreed with tshark", () => {
  it("erspan-vlan-http-tls.pcap: 40 http rows = 23 requests (tshark 21 at headers + 2 out of order) + 17 responses whose request was not captured", async () => {
    const http = ofProto(await analyzeRows("erspan-vlan-http-tls.pcap"), "http");
    expect(reference["erspan-vlan-http-tls.pcap"].http.requests).toBe(15); // tshark, bodies reassembled
    expect(http).toHaveLength(40);
    const req = http.filter(hasRequest);
    // 2.5 ms of a busy mirror: no exchange is whole in it (tshark pairs none either).
    expect(tally(req, (r) => r.request_type)).toEqual({ POST: 20, GET: 3 });
    expect(req.every((r) => r.response_status === "timeout")).toBe(true);
    const orphans = http.filter((r) => !hasRequest(r));
    expect(orphans).toHaveLength(17);
    expect(tally(orphans, (r) => String(r.response_code))).toEqual({ "200": 17 });
    // No ERSPAN duplicate or retransmission becomes a second row of the same request.
    expect(new Set(req.map((r) => `${r.client_port}/${r.req_tcp_seq}`)).size).toBe(req.length);
  });

  it("gre-teb-http.pcap: 23 http rows = 22 requests (= tshark) + 1 response that came 53 s after its request (past the 30 s request timeout)", async () => {
    const http = ofProto(await analyzeRows("gre-teb-http.pcap"), "http");
    expect(reference["gre-teb-http.pcap"].http.requests).toBe(22);
    expect(http).toHaveLength(23);
    const req = http.filter(hasRequest);
    expect(tally(req, (r) => r.request_type)).toEqual({ GET: 22 });
    expect(tally(http.filter(hasResponse), (r) => String(r.response_code))).toEqual({
      "200": 15,
      "302": 1,
      "401": 1,
    });
    expect(tally(http, (r) => r.response_status)).toEqual({ ok: 16, client_error: 1, timeout: 6 });
    const orphans = http.filter((r) => !hasRequest(r));
    expect(orphans.map((r) => r.response_code)).toEqual([200]);
    const homeTimeout = http.find((r) => r.request_resource === "/SitePages/Home.aspx")!;
    expect(homeTimeout.response_status).toBe("timeout");
    expect(orphans[0]!.start_time - homeTimeout.start_time).toBeGreaterThan(30_000_000);
  });
});
