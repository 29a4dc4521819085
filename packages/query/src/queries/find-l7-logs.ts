import { z } from "zod";
import type { ClickHouseClient } from "../client.ts";
import { decodeRow, L7FlowLog, selectWireColumns, type TL7FlowLogRow, zUuid } from "../rows/index.ts";
import { rangeIsOrdered, timeRangeShape, ZIpText, ZLimit, ZPort } from "./common.ts";
import { type NewestFirstTable, newestFirstPage } from "./newest-first-page.ts";

export const ZFindL7LogsParams = z
  .object({
    orgId: zUuid,
    ...timeRangeShape,
    limit: ZLimit,
    cursor: z.string().optional(),
    filters: z
      .object({
        agentId: zUuid.optional(),
        flowId: z
          .string()
          .regex(/^\d{1,20}$/)
          .optional(),
        l7Protocol: z.string().max(32).optional(),
        serverIp: ZIpText.optional(),
        serverPort: ZPort.optional(),
        responseStatus: z.string().max(32).optional(),
        endpoint: z.string().max(1024).optional(),
        traceId: z.string().max(128).optional(),
        minDurationUs: z.number().int().nonnegative().optional(),
      })
      .default({}),
  })
  .refine(...rangeIsOrdered);
export type TFindL7LogsParams = z.input<typeof ZFindL7LogsParams>;

const L7_LOGS: NewestFirstTable<TL7FlowLogRow> = {
  alias: "l",
  time: "start_time",
  seq: "req_tcp_seq",
  select: selectWireColumns(L7FlowLog, "l."),
  from: "l7_flow_log AS l",
  decode: (r) => decodeRow(L7FlowLog, r),
  cursorOf: (r) => [r.start_time, r.flow_id, r.req_tcp_seq],
};

/** L7 request logs of one org in a time range (by start time), newest first, keyset-paginated. */
export async function findL7Logs(
  client: ClickHouseClient,
  input: TFindL7LogsParams,
): Promise<{ rows: TL7FlowLogRow[]; nextCursor: string | undefined }> {
  const p = ZFindL7LogsParams.parse(input);
  return newestFirstPage(client, L7_LOGS, p, (c) => {
    const f = p.filters;
    if (f.agentId) c.add("l.agent_id = {agent_id:UUID}", { agent_id: f.agentId });
    if (f.flowId) c.add("l.flow_id = {flow_id:UInt64}", { flow_id: f.flowId });
    if (f.l7Protocol !== undefined)
      c.add("l.l7_protocol = {l7_protocol:String}", { l7_protocol: f.l7Protocol });
    if (f.serverIp) c.add("l.server_ip = {server_ip:IPv6}", { server_ip: f.serverIp });
    if (f.serverPort !== undefined)
      c.add("l.server_port = {server_port:UInt16}", { server_port: f.serverPort });
    if (f.responseStatus !== undefined) {
      c.add("l.response_status = {response_status:String}", { response_status: f.responseStatus });
    }
    if (f.endpoint !== undefined) c.add("l.endpoint = {endpoint:String}", { endpoint: f.endpoint });
    if (f.traceId !== undefined) c.add("l.trace_id = {trace_id:String}", { trace_id: f.traceId });
    if (f.minDurationUs !== undefined)
      c.add("l.response_duration_us >= {min_dur:UInt64}", { min_dur: f.minDurationUs });
  });
}
