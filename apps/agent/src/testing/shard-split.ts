/**
 * Scaling estimate that survives a busy machine: runs the single-threaded engine, then each of
 * N shards one after another in this thread (same code a worker runs), and reports each
 * shard's time as a fraction of the single run. On idle cores the N-worker wall time is about
 * the slowest shard plus worker start (≈0.15 s). Usage: shard-split.ts <capture> [N] [repeats]
 */
import { analyzeFileSync } from "../analyze.ts";

const path = process.argv[2] as string;
const n = Number(process.argv[3] ?? 2);
const repeats = Number(process.argv[4] ?? 3);
const best = (f: () => number) => Math.min(...Array.from({ length: repeats }, f));
const single = best(() => analyzeFileSync(path, { maxFlows: 1_000_000, onL4: () => {} }).elapsedMs);
const shards = Array.from({ length: n }, (_, index) =>
  best(
    () =>
      analyzeFileSync(path, {
        maxFlows: 1_000_000,
        onL4: () => {},
        shard: index,
        shardFilter: { index, count: n },
      }).elapsedMs,
  ),
);
const slowest = Math.max(...shards);
console.log(
  JSON.stringify({
    singleMs: Math.round(single),
    shardMs: shards.map(Math.round),
    speedupIfParallel: +(single / slowest).toFixed(2),
  }),
);
