/** Two shard workers must produce the same flows and metrics as one thread. */
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { describe, expect, it } from "vitest";
import { analyzeFile } from "../src/analyze.ts";
import type { L4FlowRow, NetworkMetricsRow } from "../src/flow/flow-engine.ts";
import type { AppMetricsRow, L7Row } from "../src/l7/index.ts";

const dir = sharedPcapsDir();

async function run(file: string, workers: number, multi?: "dispatch" | "replicate") {
  const l4: L4FlowRow[] = [];
  const nm: NetworkMetricsRow[] = [];
  const l7: L7Row[] = [];
  const am: AppMetricsRow[] = [];
  const r = await analyzeFile(join(dir, file), {
    workers,
    multi,
    maxFlows: 4096,
    l7: {},
    onL4: (x) => l4.push(x),
    onNetworkMetrics: (x) => nm.push(x),
    onL7: (x) => l7.push(x),
    onAppMetrics: (x) => am.push(x),
  });
  const flows = l4.map(({ flow_id: _id, ...rest }) => JSON.stringify(rest)).sort();
  const metrics = nm.map((x) => JSON.stringify(x)).sort();
  // flow ids carry the shard number; each L7 row must name its own flow's id.
  const l4Ids = new Set(l4.map((x) => x.flow_id));
  const l7Orphans = l7.filter((x) => !l4Ids.has(x.flow_id)).length;
  const l7Rows = l7.map(({ flow_id: _id, ...rest }) => JSON.stringify(rest)).sort();
  // Application metrics summed over time per key: the L7 module counts a row that completes
  // late (a timeout found at a tick) in the second its processor is at, which depends on what
  // else that shard saw; totals per (server, protocol, endpoint) must agree.
  const perKey = new Map<string, number[]>();
  for (const x of am) {
    const k = `${x.server_ip}|${x.server_port}|${x.l7_protocol}|${x.endpoint}`;
    const v = perKey.get(k) ?? new Array(6 + x.latency_buckets.length).fill(0);
    v[0] += x.requests;
    v[1] += x.errors_client;
    v[2] += x.errors_server;
    v[3] += x.timeouts;
    v[4] += x.duration_sum_us;
    v[5] = Math.max(v[5], x.duration_max_us);
    x.latency_buckets.forEach((n, i) => {
      v[6 + i] += n;
    });
    perKey.set(k, v);
  }
  const app = [...perKey].map(([k, v]) => `${k} ${v.join(",")}`).sort();
  return { r, flows, metrics, ids: l4Ids, l7Rows, l7Orphans, app };
}

describe("multi-worker analysis", () => {
  it.each([
    "erspan-vlan-http-tls.pcap",
    "dns-edns-ecs-ipv4-ipv6.pcap",
    "gre-teb-http.pcap",
    "redis-pubsub-loopback.pcap",
    "http1-pipelined.pcap",
    "redis-commands.pcap",
  ])("%s: 2 workers (dispatch and replicate) = 1 worker, L4 and L7", async (file) => {
    const one = await run(file, 1);
    expect(one.l7Orphans).toBe(0);
    for (const multi of ["dispatch", "replicate"] as const) {
      const two = await run(file, 2, multi);
      expect(two.r.workers).toBe(2);
      expect(two.flows).toEqual(one.flows);
      expect(two.metrics).toEqual(one.metrics);
      expect(two.ids.size).toBe(one.ids.size);
      expect(two.r.stats.packets).toBe(one.r.stats.packets);
      expect(two.r.stats.flowPackets).toBe(one.r.stats.flowPackets);
      expect(two.l7Rows).toEqual(one.l7Rows);
      expect(two.l7Orphans).toBe(0);
      expect(two.app).toEqual(one.app);
    }
  });
});
