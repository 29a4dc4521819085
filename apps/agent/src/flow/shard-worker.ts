/**
 * One shard of a multi-worker analysis: reads the whole capture itself (the page cache shares
 * the file between workers), decodes every packet, and keeps only the flows whose symmetric
 * 5-tuple hash maps to its shard. With an output directory it writes its own L4 part file;
 * metrics rows always go back to the parent (one key can span shards and is summed there).
 */
import { parentPort, workerData } from "node:worker_threads";
import { analyzeFileSync } from "../analyze.ts";
import type { AppMetricsRow, L7Row } from "../l7/index.ts";
import type { L4FlowRow, NetworkMetricsRow } from "./flow-engine.ts";
import { RowBatches } from "./row-batches.ts";

export interface ShardWorkerData {
  path: string;
  index: number;
  count: number;
  /** Part-file directory, or undefined to post rows back. */
  outDir?: string;
  wantRows: boolean;
  wantL7Rows?: boolean;
  /** Path of the L7 bundle (worker-bundle.ts) when L7 is on. */
  l7Bundle?: string;
  engine: Record<string, unknown>;
}

const data = workerData as ShardWorkerData;
const port = parentPort;
if (!port) throw new Error("shard-worker must run in a worker thread");

const l4 = new RowBatches<L4FlowRow>(port, "l4");
const nm = new RowBatches<NetworkMetricsRow>(port, "nm");
const l7 = new RowBatches<L7Row>(port, "l7");
const am = new RowBatches<AppMetricsRow>(port, "am");
const createL7 = data.l7Bundle
  ? ((await import(data.l7Bundle)) as typeof import("../l7/index.ts")).createL7Processor
  : undefined;
const result = analyzeFileSync(data.path, {
  ...data.engine,
  createL7,
  outDir: data.outDir,
  fileSuffix: data.outDir ? `.part${data.index}` : undefined,
  l4Only: true,
  shard: data.index,
  shardFilter: { index: data.index, count: data.count },
  onL4: data.wantRows ? l4.push : undefined,
  onL7: data.wantL7Rows ? l7.push : undefined,
  // l4Only keeps application metrics out of the part files: the parent sums them per key.
  onAppMetrics: am.push,
  onNetworkMetrics: nm.push,
});
l4.flush();
nm.flush();
l7.flush();
am.flush();
port.postMessage({ type: "done", result });
