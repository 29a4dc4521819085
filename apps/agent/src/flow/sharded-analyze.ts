/**
 * Multi-worker analysis: N worker threads, each owning the flows whose symmetric 5-tuple hash
 * maps to it (flow-engine `shardFilter`). Every worker reads and decodes the whole file and
 * drops the other shards' packets right after decoding: N decodes of each packet, but no
 * dispatch thread, no copies and no messages per packet (on this 2-core machine a dispatcher
 * would itself need a core). Each worker writes its own L4 part file; part files and the
 * per-second metrics rows coming back are gathered by shard-rows.ts.
 *
 * Workers run a bundle of shard-worker.ts built with esbuild at start (≈0.1 s) instead of
 * registering tsx in every thread (≈0.9 s per worker, measured).
 */
import { mkdirSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { AnalyzeOptions, AnalyzeResult } from "../analyze.ts";
import type { EngineStats } from "./flow-engine.ts";
import { ShardRows, type ShardRowsMsg } from "./shard-rows.ts";
import { bundleExecArgv, workerBundle } from "./worker-bundle.ts";

type Msg = ShardRowsMsg | { type: "done"; result: AnalyzeResult };

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
    l7: opts.l7 ? { ...opts.l7, onL7: undefined, onAppMetrics: undefined } : undefined,
  };
  for (const k of Object.keys(engine)) if (engine[k] === undefined) delete engine[k];
  if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
  const wantRows = opts.onL4 !== undefined;
  const results: AnalyzeResult[] = [];
  const shardRows = new ShardRows(opts);
  const wantL7Rows = opts.onL7 !== undefined;
  const script = await workerBundle(new URL("./shard-worker.ts", import.meta.url));
  const l7Bundle = opts.l7 ? await workerBundle(new URL("../l7/index.ts", import.meta.url)) : undefined;
  await Promise.all(
    Array.from(
      { length: count },
      (_, index) =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(script, {
            execArgv: bundleExecArgv(),
            workerData: { path, index, count, outDir: opts.outDir, wantRows, wantL7Rows, l7Bundle, engine },
          });
          w.on("message", (msg: Msg) => {
            if (msg.type === "done") results[index] = msg.result;
            else shardRows.add(msg);
          });
          w.on("error", reject);
          w.on("exit", (code) =>
            code === 0 ? resolve() : reject(new Error(`shard worker ${index} exited with ${code}`)),
          );
        }),
    ),
  );
  const { metricRows, appMetricRows } = shardRows.finish(count, opts.l7 !== undefined);
  const merged = mergeStats(results.map((r) => r.stats));
  const elapsedMs = performance.now() - started;
  return {
    file: path,
    stats: merged,
    l4Rows: results.reduce((s, r) => s + r.l4Rows, 0),
    metricRows,
    l7Rows: results.reduce((s, r) => s + r.l7Rows, 0),
    appMetricRows,
    elapsedMs,
    packetsPerSecond: merged.packets / Math.max(elapsedMs / 1000, 1e-9),
    workers: count,
    // Row objects cross threads (app metrics are summed by key in the parent): no native rows.
    ...(opts.l7 ? { l7RowPath: "off (multi-worker analysis makes row objects)" } : {}),
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
