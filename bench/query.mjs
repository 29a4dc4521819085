// `npm run bench -- query [--rows N] [--runs R]`: analysis page queries, p50/p95 over 1 h and 24 h
// windows beside a plain raw-table aggregate (packages/query/bench/analysis-queries.ts).
import { spawnSync } from "node:child_process";

export function benchQuery(argv) {
  const script = new URL("../packages/query/bench/analysis-queries.ts", import.meta.url).pathname;
  const r = spawnSync(process.execPath, ["--import", "tsx", script, ...argv], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`query bench exited ${r.status}`);
}
