/**
 * Offline analysis of a capture file: reader → engine → JSONL files. `analyzeFile` is what the
 * CLI and the bench call; with `workers > 1` it shards flows over worker threads
 * (see flow/sharded-analyze.ts).
 */
import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { readCaptureFile } from "./capture/capture-file.ts";
import {
  createEngine,
  type EngineOptions,
  type EngineStats,
  type L4FlowRow,
  type NetworkMetricsRow,
} from "./flow/flow-engine.ts";
import type { AppMetricsRow, L7CaptureReads, L7Row } from "./l7/index.ts";
import { JsonlWriter } from "./output/jsonl-writer.ts";
import { rawRowsInto, wantsRawRows } from "./output/raw-rows.ts";

export interface AnalyzeOptions extends Omit<EngineOptions, "onL4" | "onNetworkMetrics"> {
  /** Output directory for l4_flow_log.jsonl and network_metrics.jsonl; none = rows discarded. */
  outDir?: string;
  workers?: number;
  /**
   * With workers > 1: "dispatch" (default) decodes once here and ships records to the shard
   * workers; "replicate" lets every worker read and decode the whole file itself.
   */
  multi?: "dispatch" | "replicate";
  onL4?: (row: L4FlowRow) => void;
  onNetworkMetrics?: (row: NetworkMetricsRow) => void;
  /** L7 rows (only with `l7` set); in files as l7_flow_log.jsonl and application_metrics.jsonl. */
  onL7?: (row: L7Row) => void;
  onAppMetrics?: (row: AppMetricsRow) => void;
  /** Appended to the output file names (worker part files). */
  fileSuffix?: string;
  /** Write only l4_flow_log (workers: metrics rows are merged by the parent). */
  l4Only?: boolean;
  /** Called now and then with (bytes read, file size). */
  onProgress?: (done: number, total: number) => void;
}

export interface AnalyzeResult {
  file: string;
  stats: EngineStats;
  l4Rows: number;
  metricRows: number;
  l7Rows: number;
  appMetricRows: number;
  elapsedMs: number;
  packetsPerSecond: number;
  workers: number;
  /**
   * How L7 rows were made, when L7 was on: "native" (HTTP/1, Redis, PostgreSQL and DNS-over-UDP
   * rows in C, the others in JS) or why every row was made in JS.
   */
  l7RowPath?: string;
  /** The native row thread switched its files to O_DIRECT (slow page cache, or FLOWPLANE_L7_DIRECT=1). */
  l7DirectOutput?: boolean;
  /** How the native L7 row thread read the capture (L7Processor.captureReads), when L7 is on. */
  l7CaptureReads?: L7CaptureReads;
  /** Set when fewer workers ran than were asked for: how many were, and why (see oneWorkerInstead). */
  workersRequested?: number;
  plan?: string;
}

/**
 * Why one worker runs instead of the `workers` asked for, or undefined. With L7 on, one worker
 * already keeps two cores busy: this thread and the native row thread beside it, which makes the
 * HTTP/1, Redis, PostgreSQL and DNS rows and writes every file. Shards over worker threads then
 * only add threads on the same two cores, and the dispatching thread's copies: on 2 cores two
 * workers ran at 0.55-0.61x of one on web-1m (HTTP) and at ~0.85x on real-1m (Redis,
 * PostgreSQL, MySQL; session 13). An explicit `multi` keeps the workers asked for.
 */
async function oneWorkerInstead(opts: AnalyzeOptions): Promise<string | undefined> {
  const cores = availableParallelism();
  if (opts.multi !== undefined || !opts.l7 || cores > 2 || !wantsRawRows(opts)) return undefined;
  if (process.env.FLOWPLANE_L7_THREAD === "0") return undefined;
  if (opts.l7.protocols && !opts.l7.protocols.includes("http")) return undefined;
  const { nativeRowsAddon } = await import("./l7/native/http1-rows.ts");
  if (typeof nativeRowsAddon() === "string") return undefined;
  return `one worker with the native L7 row thread beside it is faster on ${cores} core${cores === 1 ? "" : "s"}; --multi dispatch keeps ${opts.workers} workers`;
}

export async function analyzeFile(path: string, opts: AnalyzeOptions = {}): Promise<AnalyzeResult> {
  if ((opts.workers ?? 1) > 1) {
    const plan = await oneWorkerInstead(opts);
    if (plan !== undefined) {
      const r = await analyzeFile(path, { ...opts, workers: 1 });
      return { ...r, workersRequested: opts.workers, plan };
    }
    // Workers load the L7 code themselves (only when it is on).
    if (opts.multi === "replicate") {
      const { analyzeFileSharded } = await import("./flow/sharded-analyze.ts");
      return analyzeFileSharded(path, opts);
    }
    const { analyzeFileDispatched } = await import("./flow/dispatch-analyze.ts");
    return analyzeFileDispatched(path, opts);
  }
  if (opts.l7 && !opts.createL7) {
    const { createL7Processor } = await import("./l7/index.ts");
    return analyzeFileSync(path, { ...opts, createL7: createL7Processor });
  }
  return analyzeFileSync(path, opts);
}

export function analyzeFileSync(path: string, opts: AnalyzeOptions = {}): AnalyzeResult {
  const started = performance.now();
  let l4: JsonlWriter | undefined;
  let nm: JsonlWriter | undefined;
  let l7w: JsonlWriter | undefined;
  let amw: JsonlWriter | undefined;
  if (opts.outDir) {
    mkdirSync(opts.outDir, { recursive: true });
    const sfx = opts.fileSuffix ?? "";
    l4 = new JsonlWriter(join(opts.outDir, `l4_flow_log.jsonl${sfx}`));
    if (!opts.l4Only) nm = new JsonlWriter(join(opts.outDir, `network_metrics.jsonl${sfx}`));
    if (opts.l7) {
      l7w = new JsonlWriter(join(opts.outDir, `l7_flow_log.jsonl${sfx}`));
      if (!opts.l4Only) amw = new JsonlWriter(join(opts.outDir, `application_metrics.jsonl${sfx}`));
    }
  }
  let l4Rows = 0;
  let metricRows = 0;
  let l7Rows = 0;
  let appMetricRows = 0;
  const {
    onL4: _l4,
    onNetworkMetrics: _nm,
    onL7: _l7,
    onAppMetrics: _am,
    outDir: _o,
    workers: _w,
    onProgress: _p,
    fileSuffix: _s,
    ...engineOpts
  } = opts;
  // Nobody asked for row objects: HTTP/1 rows may come as JSONL bytes from the native row path
  // and go to the files as they are.
  const raw = { l7: 0, appMetrics: 0 };
  // The capture is read below through the processor's block fence: its native path may run on
  // its own thread.
  const rawRows = wantsRawRows(opts) ? rawRowsInto(l7w, amw, raw, true) : undefined;
  const engine = createEngine({
    ...engineOpts,
    l7: opts.l7
      ? {
          ...opts.l7,
          ...(rawRows ? { rawRows } : {}),
          onL7: (r) => {
            l7Rows++;
            l7w?.write(r);
            opts.onL7?.(r);
          },
          onAppMetrics: (r) => {
            appMetricRows++;
            amw?.write(r);
            opts.onAppMetrics?.(r);
          },
        }
      : undefined,
    onL4: (r) => {
      l4Rows++;
      l4?.write(r);
      opts.onL4?.(r);
    },
    onNetworkMetrics: (r) => {
      metricRows++;
      nm?.write(r);
      opts.onNetworkMetrics?.(r);
    },
  });
  // With the native L7 row thread running, it writes every file of the analysis: the JSONL
  // writer thread would be one more thread competing for the cores (~25 ms on web-1m, 2 cores).
  const chunkSink = engine.l7ChunkSink();
  if (chunkSink) for (const w of [l4, nm, l7w, amw]) w?.useSink(chunkSink);
  const progress = opts.onProgress;
  let sinceProgress = 0;
  readCaptureFile(
    path,
    progress
      ? (lt, buf, off, cap, wire, ts, fo) => {
          engine.packet(lt, buf, off, cap, wire, ts, fo);
          if (++sinceProgress === 65536) {
            sinceProgress = 0;
            progress(fo, 0);
          }
        }
      : (lt, buf, off, cap, wire, ts, fo) => engine.packet(lt, buf, off, cap, wire, ts, fo),
    (kind, offset) => engine.decodeError(kind, offset),
    engine.l7BlockFence(),
  );
  engine.flush();
  l4?.close();
  nm?.close();
  l7w?.close();
  amw?.close();
  const stats = engine.stats();
  const elapsedMs = performance.now() - started;
  return {
    file: path,
    stats,
    l4Rows,
    metricRows,
    l7Rows: l7Rows + raw.l7,
    appMetricRows: appMetricRows + raw.appMetrics,
    elapsedMs,
    packetsPerSecond: stats.packets / Math.max(elapsedMs / 1000, 1e-9),
    workers: 1,
    ...(opts.l7
      ? {
          l7RowPath: engine.l7RowPath(),
          l7DirectOutput: engine.l7DirectOutput(),
          l7CaptureReads: engine.l7CaptureReads(),
        }
      : {}),
  };
}
