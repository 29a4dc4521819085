/** Public API of the agent package: the engine and offline analysis. */

export { type AnalyzeOptions, type AnalyzeResult, analyzeFile, analyzeFileSync } from "./analyze.ts";
export { readCaptureBuffer, readCaptureFile } from "./capture/capture-file.ts";
export {
  createEngine,
  DEFAULT_TIMEOUTS,
  type Engine,
  type EngineOptions,
  type EngineStats,
  type L4FlowRow,
  type NetworkMetricsRow,
  NIL_UUID,
} from "./flow/flow-engine.ts";
