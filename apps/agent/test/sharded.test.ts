/** Two shard workers must produce the same flows and metrics as one thread. */
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { describe, expect, it } from "vitest";
import { analyzeFile } from "../src/analyze.ts";
import type { L4FlowRow, NetworkMetricsRow } from "../src/flow/flow-engine.ts";

const dir = sharedPcapsDir();

async function run(file: string, workers: number, multi?: "dispatch" | "replicate") {
  const l4: L4FlowRow[] = [];
  const nm: NetworkMetricsRow[] = [];
  const r = await analyzeFile(join(dir, file), {
    workers,
    maxFlows: 4096,
    onL4: (x) => l4.push(x),
    onNetworkMetrics: (x) => nm.push(x),
  });
  const flows = l4.map(({ flow_id: _id, ...rest }) => JSON.stringify(rest)).sort();
  const metrics = nm.map((x) => JSON.stringify(x)).sort();
  return { r, flows, metrics, ids: new Set(l4.map((x) => x.flow_id)) };
}

describe("multi-worker analysis", () => {
  it.each([
    "erspan-vlan-http-tls.pcap",
    "dns-edns-ecs-ipv4-ipv6.pcap",
    "gre-teb-http.pcap",
    "redis-pubsub-loopback.pcap",
  ])("%s: 2 workers (dispatch and replicate) = 1 worker", async (file) => {
    const one = await run(file, 1);
    const two = await run(file, 2);
    expect(two.r.workers).toBe(2);
    expect(two.flows).toEqual(one.flows);
    expect(two.metrics).toEqual(one.metrics);
    expect(two.ids.size).toBe(one.ids.size);
    expect(two.r.stats.packets).toBe(one.r.stats.packets);
    expect(two.r.stats.flowPackets).toBe(one.r.stats.flowPackets);
  });
});
