/**
 * Per-policy broker counters from an agent's heartbeat → ClickHouse (npb_policy_counters, one row
 * per policy per sync, summed per minute by readers). Stored in ClickHouse rather than Postgres:
 * a row per agent × policy × minute is time-series volume (1 000 agents × 10 policies is 14 M rows
 * a day), which Postgres would have to vacuum and the console reads as sums over ranges.
 */
import type { Logger } from "@flowplane/core/log";
import { NPB_COUNTERS, type TNpbPolicyCounters } from "@flowplane/protocol";

/** `recordNpbCounters` bound to the controller's ClickHouse client. */
export type TNpbCounterWriter = (
  orgId: string,
  agentId: string,
  at: Date,
  counters: TNpbPolicyCounters[],
) => Promise<number>;

/**
 * Stores the counters of policies that belong to the agent's org; others (a policy deleted since
 * the agent's last sync, or a forged id) are dropped. Returns whether the report was stored: the
 * agent keeps unaccepted counters and sends them again, so a ClickHouse outage loses nothing.
 */
export async function acceptNpbCounters(
  deps: { write?: TNpbCounterWriter; log: Logger },
  agent: { orgId: string; agentId: string },
  counters: TNpbPolicyCounters[],
  orgPolicyIds: Set<string>,
  now: Date,
): Promise<boolean> {
  if (!deps.write) return false;
  const own = counters.filter((c) => orgPolicyIds.has(c.policyId) && NPB_COUNTERS.some((k) => c[k] > 0));
  if (own.length === 0) return true;
  try {
    await deps.write(agent.orgId, agent.agentId, now, own);
    return true;
  } catch (err) {
    deps.log.warn(
      { orgId: agent.orgId, agentId: agent.agentId, err: (err as Error).message },
      "packet-broker counters not stored: the agent will send them again",
    );
    return false;
  }
}
