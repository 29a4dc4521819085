import { z } from "zod";
import type { ClickHouseClient } from "../client.ts";
import { orgQuery } from "../client.ts";
import { zUuid } from "../rows/index.ts";
import { rangeIsOrdered, timeRangeShape } from "./common.ts";

export const ZTopTalkersParams = z
  .object({
    orgId: zUuid,
    ...timeRangeShape,
    by: z.enum(["bytes", "packets", "flows"]).default("bytes"),
    /** client: per client IP; server: per server IP and port; pair: per client → server:port. */
    groupBy: z.enum(["client", "server", "pair"]).default("pair"),
    limit: z.number().int().min(1).max(1000).default(10),
  })
  .refine(...rangeIsOrdered);
export type TTopTalkersParams = z.input<typeof ZTopTalkersParams>;

const num = z.preprocess((v) => (typeof v === "string" ? Number(v) : v), z.number());
const ipText = z.string().transform((s) => s.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1"));
export const ZTopTalker = z.object({
  client_ip: ipText.optional(),
  server_ip: ipText.optional(),
  server_port: num.optional(),
  bytes: num,
  packets: num,
  flows: num,
});
export type TTopTalker = z.infer<typeof ZTopTalker>;

const KEYS = {
  client: ["client_ip"],
  server: ["server_ip", "server_port"],
  pair: ["client_ip", "server_ip", "server_port"],
} as const;

/**
 * The biggest talkers of one org over a range, from the per-minute rollup when the range is over
 * an hour (rounded to whole minutes) and from per-second rows otherwise.
 */
export async function topTalkers(client: ClickHouseClient, input: TTopTalkersParams): Promise<TTopTalker[]> {
  const p = ZTopTalkersParams.parse(input);
  const table = p.to - p.from > 3_600_000_000 ? "network_metrics_1m" : "network_metrics";
  const keys = KEYS[p.groupBy].join(", ");
  const order = { bytes: "bytes", packets: "packets", flows: "flows" }[p.by];
  const sql = `
    SELECT ${keys},
      sum(bytes_c2s) + sum(bytes_s2c) AS bytes,
      sum(packets_c2s) + sum(packets_s2c) AS packets,
      sum(new_flows) AS flows
    FROM ${table}
    WHERE org_id = {org_id:UUID}
      AND time >= fromUnixTimestamp64Micro({from:Int64}, 'UTC')
      AND time < fromUnixTimestamp64Micro({to:Int64}, 'UTC')
    GROUP BY ${keys}
    ORDER BY ${order} DESC
    LIMIT {limit:UInt32}`;
  const raw = await orgQuery(client, p.orgId, sql, { from: p.from, to: p.to, limit: p.limit });
  return raw.map((r) => ZTopTalker.parse(r));
}
