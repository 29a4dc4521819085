import { z } from "zod";
import type { ClickHouseClient } from "../client.ts";
import { decodeRow, L4FlowLog, selectWireColumns, type TL4FlowLogRow, zUuid } from "../rows/index.ts";
import { rangeIsOrdered, timeRangeShape, ZIpText, ZLimit, ZPort } from "./common.ts";
import { type NewestFirstTable, newestFirstPage } from "./newest-first-page.ts";

export const ZFindL4FlowsParams = z
  .object({
    orgId: zUuid,
    ...timeRangeShape,
    limit: ZLimit,
    cursor: z.string().optional(),
    filters: z
      .object({
        agentId: zUuid.optional(),
        /** Either side of the flow. */
        ip: ZIpText.optional(),
        clientIp: ZIpText.optional(),
        serverIp: ZIpText.optional(),
        serverPort: ZPort.optional(),
        ipProtocol: z.number().int().min(0).max(255).optional(),
        l7Protocol: z.string().max(32).optional(),
        closeType: z.string().max(32).optional(),
        /** Only the last report of each flow. */
        finalOnly: z.boolean().optional(),
      })
      .default({}),
  })
  .refine(...rangeIsOrdered);
export type TFindL4FlowsParams = z.input<typeof ZFindL4FlowsParams>;

export type TL4FlowListRow = TL4FlowLogRow & { group_name: string };

const L4_FLOWS: NewestFirstTable<TL4FlowListRow> = {
  alias: "f",
  time: "end_time",
  seq: "report_seq",
  select: `${selectWireColumns(L4FlowLog, "f.")}, g.name AS group_name`,
  from: `l4_flow_log AS f
    LEFT JOIN (
      SELECT id, argMax(name, updated_at) AS name FROM tag_dict
      WHERE org_id = {org_id:UUID} AND tag_kind = 'agent_group' GROUP BY id
    ) AS g ON g.id = f.group_id`,
  decode: (r) => ({ ...decodeRow(L4FlowLog, r), group_name: String(r.group_name ?? "") }),
  cursorOf: (r) => [r.end_time, r.flow_id, r.report_seq ?? 0],
};

/**
 * L4 flow reports of one org in a time range (by end time), newest first, keyset-paginated.
 * Agent group names are resolved from tag_dict at query time.
 */
export async function findL4Flows(
  client: ClickHouseClient,
  input: TFindL4FlowsParams,
): Promise<{ rows: TL4FlowListRow[]; nextCursor: string | undefined }> {
  const p = ZFindL4FlowsParams.parse(input);
  return newestFirstPage(client, L4_FLOWS, p, (c) => {
    const f = p.filters;
    if (f.agentId) c.add("f.agent_id = {agent_id:UUID}", { agent_id: f.agentId });
    if (f.ip) c.add("(f.client_ip = {ip:IPv6} OR f.server_ip = {ip:IPv6})", { ip: f.ip });
    if (f.clientIp) c.add("f.client_ip = {client_ip:IPv6}", { client_ip: f.clientIp });
    if (f.serverIp) c.add("f.server_ip = {server_ip:IPv6}", { server_ip: f.serverIp });
    if (f.serverPort !== undefined)
      c.add("f.server_port = {server_port:UInt16}", { server_port: f.serverPort });
    if (f.ipProtocol !== undefined)
      c.add("f.ip_protocol = {ip_protocol:UInt8}", { ip_protocol: f.ipProtocol });
    if (f.l7Protocol !== undefined)
      c.add("f.l7_protocol = {l7_protocol:String}", { l7_protocol: f.l7Protocol });
    if (f.closeType !== undefined) c.add("f.close_type = {close_type:String}", { close_type: f.closeType });
    if (f.finalOnly) c.add("f.is_final");
  });
}
