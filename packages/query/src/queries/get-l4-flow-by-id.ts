import { z } from "zod";
import type { ClickHouseClient } from "../client.ts";
import { orgQuery } from "../client.ts";
import { decodeRow, L4FlowLog, selectWireColumns, type TL4FlowLogRow, zUuid } from "../rows/index.ts";

export const ZGetL4FlowByIdParams = z.object({
  orgId: zUuid,
  flowId: z.string().regex(/^\d{1,20}$/, "flow ids are UInt64 decimal strings"),
});

/** Counters that add up across a flow's reports (each report carries deltas). */
const ADDITIVE = [
  "packets_c2s",
  "packets_s2c",
  "bytes_c2s",
  "bytes_s2c",
  "syn_count",
  "synack_count",
  "retrans_c2s",
  "retrans_s2c",
  "zero_win_c2s",
  "zero_win_s2c",
  "out_of_order_c2s",
  "out_of_order_s2c",
] as const;

/**
 * One flow as a whole from its reports (oldest first): counters summed, flags OR-ed, times from
 * the first and last report, everything else (close type, RTTs once measured) from the last.
 */
export function flowTotals(reports: readonly TL4FlowLogRow[]): TL4FlowLogRow | undefined {
  const first = reports[0];
  const last = reports.at(-1);
  if (!first || !last) return undefined;
  const total: TL4FlowLogRow = { ...last, start_time: first.start_time };
  for (const k of ADDITIVE) total[k] = reports.reduce((a, r) => a + r[k], 0);
  total.tcp_flags_c2s = reports.reduce((a, r) => a | r.tcp_flags_c2s, 0);
  total.tcp_flags_s2c = reports.reduce((a, r) => a | r.tcp_flags_s2c, 0);
  for (const k of ["rtt_us", "rtt_client_us", "rtt_server_us"] as const) {
    total[k] = reports.reduce((a, r) => a || r[k], 0);
  }
  return total;
}

/** Every report of one flow (minute reports and the final one), oldest first; see `flowTotals`. */
export async function getL4FlowById(
  client: ClickHouseClient,
  input: z.input<typeof ZGetL4FlowByIdParams>,
): Promise<TL4FlowLogRow[]> {
  const p = ZGetL4FlowByIdParams.parse(input);
  const sql = `
    SELECT ${selectWireColumns(L4FlowLog, "f.")}
    FROM l4_flow_log AS f
    WHERE f.org_id = {org_id:UUID} AND f.flow_id = {flow_id:UInt64}
    ORDER BY f.end_time, f.report_seq
    LIMIT 10000`;
  const raw = await orgQuery<Record<string, unknown>>(client, p.orgId, sql, { flow_id: p.flowId });
  return raw.map((r) => decodeRow(L4FlowLog, r));
}
