/**
 * `@flowplane/query`: typed telemetry queries. Every function takes the caller's `orgId` and
 * reads only that org's rows (see `orgQuery`).
 */

export {
  type ClickhouseConfig,
  createClickhouse,
  DEFAULT_QUERY_LIMITS,
  DEFAULT_READ_LIMITS,
  OrgScopeError,
  orgQuery,
  type RecordResult,
  recordRows,
} from "./client.ts";
export * from "./queries/agent-health.ts";
export * from "./queries/analysis/index.ts";
export * from "./queries/application-metrics-series.ts";
export * from "./queries/find-l4-flows.ts";
export * from "./queries/find-l7-logs.ts";
export * from "./queries/get-l4-flow-by-id.ts";
export * from "./queries/network-metrics-series.ts";
export * from "./queries/npb-counters.ts";
export * from "./queries/tags.ts";
export * from "./queries/top-talkers.ts";
export * from "./rows/index.ts";
