import { z } from "zod";
import type { ClickHouseClient } from "../client.ts";
import { orgQuery } from "../client.ts";
import { decodeRow, L4FlowLog, selectWireColumns, type TL4FlowLogRow, zUuid } from "../rows/index.ts";

export const ZGetL4FlowByIdParams = z.object({
  orgId: zUuid,
  flowId: z.string().regex(/^\d{1,20}$/, "flow ids are UInt64 decimal strings"),
});

/** Every report of one flow (minute reports and the final one), oldest first. */
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
