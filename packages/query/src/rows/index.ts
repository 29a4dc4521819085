/**
 * `@flowplane/query/rows`: the one definition of every telemetry row. Imports only zod, so the
 * agent can load it without any database driver.
 */
import { ApplicationMetrics } from "./application-metrics.ts";
import { L4FlowLog } from "./l4-flow-log.ts";
import { L7FlowLog } from "./l7-flow-log.ts";
import { NetworkMetrics } from "./network-metrics.ts";

export * from "./application-metrics.ts";
export { type Column, zUuid } from "./columns.ts";
export * from "./l4-flow-log.ts";
export * from "./l7-flow-log.ts";
export * from "./network-metrics.ts";
export * from "./table.ts";
export * from "./tags.ts";

/** Every table an agent writes, by name. */
export const ROW_TABLES = {
  l4_flow_log: L4FlowLog,
  l7_flow_log: L7FlowLog,
  network_metrics: NetworkMetrics,
  application_metrics: ApplicationMetrics,
} as const;
export type TRowTableName = keyof typeof ROW_TABLES;
export const ROW_TABLE_NAMES = Object.keys(ROW_TABLES) as TRowTableName[];
export {
  decodeTsvLines,
  encodeTsvLines,
  fieldText,
  fieldValue,
  OWNER_COLUMNS,
  unescapeTsv,
  wireColumns,
} from "./wire-tsv.ts";
