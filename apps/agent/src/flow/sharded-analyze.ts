/** Multi-worker analysis: placeholder until the sharded pipeline lands; runs single-threaded. */
import { type AnalyzeOptions, type AnalyzeResult, analyzeFileSync } from "../analyze.ts";

export async function analyzeFileSharded(path: string, opts: AnalyzeOptions): Promise<AnalyzeResult> {
  return analyzeFileSync(path, { ...opts, workers: 1 });
}
