/**
 * Multi-worker analysis: N worker threads, each owning the flows whose symmetric host-pair hash
 * maps to it (flow-engine `shardFilter`). Every worker reads and decodes the whole file and
 * drops the other shards' packets right after decoding: N decodes of each packet, but no
 * dispatch thread, no copies and no messages per packet (on this 2-core machine a dispatcher
 * would itself need a core). Workers write part files that are concatenated at the end; since
 * a host pair never spans two shards, per-second metrics rows need no merging.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { AnalyzeOptions, AnalyzeResult } from "../analyze.ts";
import type { EngineStats, L4FlowRow, NetworkMetricsRow } from "./flow-engine.ts";

type Msg =
  | { type: "l4"; rows: L4FlowRow[] }
  | { type: "nm"; rows: NetworkMetricsRow[] }
  | { type: "done"; result: AnalyzeResult };

export async function analyzeFileSharded(path: string, opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const started = performance.now();
  const count = Math.max(1, Math.min(32, opts.workers ?? 2));
  const startSeconds = opts.startSeconds ?? Math.floor(Date.now() / 1000);
  const engine: Record<string, unknown> = {
    orgId: opts.orgId,
    agentId: opts.agentId,
    maxFlows: opts.maxFlows !== undefined ? Math.ceil(opts.maxFlows / count) : undefined,
    timeouts: opts.timeouts,
    vxlanPort: opts.vxlanPort,
    genevePort: opts.genevePort,
    reportIntervalS: opts.reportIntervalS,
    startSeconds,
  };
  for (const k of Object.keys(engine)) if (engine[k] === undefined) delete engine[k];
  const wantRows = opts.onL4 !== undefined || opts.onNetworkMetrics !== undefined;
  const results: AnalyzeResult[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      (_, index) =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(new URL("./shard-worker-boot.mjs", import.meta.url), {
            workerData: { path, index, count, outDir: opts.outDir, wantRows, engine },
          });
          w.on("message", (msg: Msg) => {
            if (msg.type === "l4") for (const r of msg.rows) opts.onL4?.(r);
            else if (msg.type === "nm") for (const r of msg.rows) opts.onNetworkMetrics?.(r);
            else if (msg.type === "done") results[index] = msg.result;
          });
          w.on("error", reject);
          w.on("exit", (code) =>
            code === 0 ? resolve() : reject(new Error(`shard worker ${index} exited with ${code}`)),
          );
        }),
    ),
  );
  if (opts.outDir) {
    for (const name of ["l4_flow_log.jsonl", "network_metrics.jsonl"]) {
      const fd = openSync(join(opts.outDir, name), "w");
      for (let i = 0; i < count; i++) {
        const part = join(opts.outDir, `${name}.part${i}`);
        writeSync(fd, readFileSync(part));
        rmSync(part, { force: true });
      }
      closeSync(fd);
    }
  }
  const merged = mergeStats(results.map((r) => r.stats));
  const elapsedMs = performance.now() - started;
  return {
    file: path,
    stats: merged,
    l4Rows: results.reduce((s, r) => s + r.l4Rows, 0),
    metricRows: results.reduce((s, r) => s + r.metricRows, 0),
    elapsedMs,
    packetsPerSecond: merged.packets / Math.max(elapsedMs / 1000, 1e-9),
    workers: count,
  };
}

/** Per-packet figures (packets, non-IP, decode errors) are the same in every shard: take one. */
function mergeStats(all: EngineStats[]): EngineStats {
  const first = all[0] as EngineStats;
  const sum = (k: keyof EngineStats) => all.reduce((s, x) => s + (x[k] as number), 0);
  return {
    ...first,
    flowPackets: sum("flowPackets"),
    flowsCreated: sum("flowsCreated"),
    flowsReported: sum("flowsReported"),
    activeFlows: sum("activeFlows"),
    maxConcurrentFlows: sum("maxConcurrentFlows"),
    evictions: sum("evictions"),
    skippedOtherShards: sum("skippedOtherShards"),
  };
}
