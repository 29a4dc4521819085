/**
 * Packet-broker counters (issue 8): what agents report per policy at each sync, stored per
 * (org, policy, agent, minute) in `npb_policy_counters` (DDL 0007), and read back per policy,
 * per agent, over time for the console.
 */
import { z } from "zod";
import type { ClickHouseClient } from "../client.ts";
import { OrgScopeError, orgQuery } from "../client.ts";
import { zUuid } from "../rows/index.ts";
import { rangeIsOrdered, timeRangeShape } from "./common.ts";

const delta = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const ZNpbCounterDelta = z.object({
  policyId: zUuid,
  matched: delta,
  sent: delta,
  bytes: delta,
  truncated: delta,
  deduplicated: delta,
  notDesignated: delta,
  droppedByCap: delta,
  encapErrors: delta,
});
export type TNpbCounterDelta = z.input<typeof ZNpbCounterDelta>;

/**
 * Writes one agent's report for `orgId` (the agent's own org, from its credential): one row per
 * policy, stamped with the minute of `at`. Throws on a row that does not validate: the caller
 * checked the policy ids against the org's policies already.
 */
export async function recordNpbCounters(
  client: ClickHouseClient,
  orgId: string,
  agentId: string,
  at: Date,
  counters: readonly TNpbCounterDelta[],
): Promise<number> {
  const org = zUuid.safeParse(orgId);
  if (!org.success) throw new OrgScopeError("recordNpbCounters needs the org id (a UUID) of the agent");
  const agent = zUuid.parse(agentId);
  if (counters.length === 0) return 0;
  const minute = Math.floor(at.getTime() / 60_000) * 60;
  const values = counters.map((raw) => {
    const c = ZNpbCounterDelta.parse(raw);
    return {
      org_id: org.data,
      policy_id: c.policyId,
      agent_id: agent,
      time: minute,
      matched: c.matched,
      sent: c.sent,
      bytes: c.bytes,
      truncated: c.truncated,
      deduplicated: c.deduplicated,
      not_designated: c.notDesignated,
      dropped_by_cap: c.droppedByCap,
      encap_errors: c.encapErrors,
    };
  });
  await client.insert({ table: "npb_policy_counters", values, format: "JSONEachRow" });
  return values.length;
}

export const ZNpbCountersParams = z
  .object({
    orgId: zUuid,
    ...timeRangeShape,
    /** Only these policies; absent = every policy of the org. */
    policyIds: z.array(zUuid).max(1000).optional(),
    /** Group by agent too (a row per policy and agent) rather than per policy. */
    byAgent: z.boolean().default(false),
    /** Step of the series in seconds (whole minutes); absent = one total per key over the range. */
    stepS: z.number().int().min(60).max(86_400).optional(),
  })
  .refine(...rangeIsOrdered);
export type TNpbCountersParams = z.input<typeof ZNpbCountersParams>;

const num = z.preprocess((v) => (typeof v === "string" ? Number(v) : v), z.number());
export const ZNpbCounterRow = z.object({
  policy_id: z.string(),
  /** Empty unless byAgent. */
  agent_id: z.string(),
  /** Start of the step, µs since the epoch; 0 without a step. */
  time: num,
  matched: num,
  sent: num,
  bytes: num,
  truncated: num,
  deduplicated: num,
  not_designated: num,
  dropped_by_cap: num,
  encap_errors: num,
});
export type TNpbCounterRow = z.infer<typeof ZNpbCounterRow>;

/** Summed counters per policy (and agent, and step when asked), oldest first. */
export async function npbCounters(
  client: ClickHouseClient,
  input: TNpbCountersParams,
): Promise<TNpbCounterRow[]> {
  const p = ZNpbCountersParams.parse(input);
  const agentKey = p.byAgent ? "toString(c.agent_id)" : "''";
  const timeKey = p.stepS
    ? "toUnixTimestamp(toStartOfInterval(c.time, toIntervalSecond({step:UInt32}))) * 1000000"
    : "0";
  const sql = `
    SELECT
      toString(c.policy_id) AS policy_id,
      ${agentKey} AS agent_id,
      ${timeKey} AS time,
      sum(c.matched) AS matched, sum(c.sent) AS sent, sum(c.bytes) AS bytes,
      sum(c.truncated) AS truncated, sum(c.deduplicated) AS deduplicated,
      sum(c.not_designated) AS not_designated, sum(c.dropped_by_cap) AS dropped_by_cap,
      sum(c.encap_errors) AS encap_errors
    FROM npb_policy_counters AS c
    WHERE c.org_id = {org_id:UUID}
      AND c.time >= toDateTime(intDiv({from:Int64}, 1000000), 'UTC')
      AND c.time < toDateTime(intDiv({to:Int64}, 1000000), 'UTC')
      ${p.policyIds ? "AND c.policy_id IN {policy_ids:Array(UUID)}" : ""}
    GROUP BY policy_id, agent_id, time
    ORDER BY time, policy_id, agent_id
    LIMIT 100000`;
  const raw = await orgQuery(client, p.orgId, sql, {
    from: p.from,
    to: p.to,
    ...(p.stepS ? { step: p.stepS } : {}),
    ...(p.policyIds ? { policy_ids: p.policyIds } : {}),
  });
  return raw.map((r) => ZNpbCounterRow.parse(r));
}
