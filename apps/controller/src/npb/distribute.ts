/**
 * What the sync answer carries for the packet broker (issue 8): the org's enabled policies that
 * apply to the agent's group, in priority order and validated with the protocol's schema, the
 * designated-capture-point map, and a revision (hash of both) the agent echoes back, so a policy
 * edit or an agent's new address reaches every agent at its next sync.
 */
import { createHash } from "node:crypto";
import type { Logger } from "@flowplane/core/log";
import type { ScopedClient } from "@flowplane/db/client";
import { formatIssues, type Policy, ZNpbPolicy } from "@flowplane/protocol";
import { buildDesignatedMap, type TDesignatedMap } from "./designated.ts";

/**
 * An agent silent this long leaves the map (its addresses are withdrawn), so the others forward
 * what it no longer sees. Long enough to ride out a restart or a few lost syncs.
 */
export const DESIGNATED_MAX_SILENCE_S = 120;

export type TAgentNpb = {
  revision: string;
  policies: Policy[];
  /** Absent when no policy applies to the agent (nothing to forward, nothing to designate). */
  designatedMap?: TDesignatedMap;
  /** Every policy id of the org, enabled or not: counters are accepted for these only. */
  orgPolicyIds: Set<string>;
};

type TPolicyRow = {
  id: string;
  name: string;
  priority: number;
  enabled: boolean;
  groupIds: string[];
  match: unknown;
  action: unknown;
  continueMatching: boolean;
  updatedAt: Date;
};

// A stored policy the schema refuses is skipped (the console validates, so this is an old or
// hand-edited row): warned once per version, not at every sync of every agent.
const warned = new Set<string>();

function toWire(orgId: string, row: TPolicyRow, log: Logger): Policy | null {
  const r = ZNpbPolicy.safeParse({
    id: row.id,
    orgId,
    name: row.name,
    enabled: row.enabled,
    priority: row.priority,
    agentGroups: row.groupIds,
    match: row.match ?? {},
    action: row.action,
    continue: row.continueMatching,
  });
  if (r.success) return r.data;
  const key = `${row.id}:${row.updatedAt.getTime()}`;
  if (!warned.has(key)) {
    warned.add(key);
    log.warn(
      { orgId, policyId: row.id, errors: formatIssues(r.error, "policy") },
      "stored packet-broker policy is invalid: not distributed",
    );
  }
  return null;
}

const applies = (p: Policy, groupId: string): boolean =>
  p.agentGroups.length === 0 || p.agentGroups.includes(groupId);

/**
 * Loads the agent's share through its org-scoped client. The map holds only the agents that run
 * exactly the same policy list (same groups' policies): an agent designated for an address but
 * without the policy a packet matched would drop it for everyone.
 */
export async function npbForAgent(
  orgDb: ScopedClient,
  agent: { orgId: string; agentId: string; groupId: string },
  log: Logger,
  now: Date,
): Promise<TAgentNpb> {
  const rows = await orgDb.packetBrokerPolicy.findMany({
    orderBy: [{ priority: "asc" }, { id: "asc" }],
    select: {
      id: true,
      name: true,
      priority: true,
      enabled: true,
      groupIds: true,
      match: true,
      action: true,
      continueMatching: true,
      updatedAt: true,
    },
  });
  const orgPolicyIds = new Set(rows.map((r) => r.id));
  const valid = rows
    .filter((r) => r.enabled)
    .map((r) => toWire(agent.orgId, r as TPolicyRow, log))
    .filter((p): p is Policy => p !== null);
  const policies = valid.filter((p) => applies(p, agent.groupId));

  let designatedMap: TDesignatedMap | undefined;
  if (policies.length > 0) {
    const setKey = (groupId: string) =>
      valid
        .filter((p) => applies(p, groupId))
        .map((p) => p.id)
        .join(",");
    const mine = setKey(agent.groupId);
    const live = await orgDb.agent.findMany({
      where: {
        disabledAt: null,
        OR: [
          { id: agent.agentId },
          { lastSeenAt: { gte: new Date(now.getTime() - DESIGNATED_MAX_SILENCE_S * 1000) } },
        ],
      },
      select: { id: true, groupId: true, ips: true, enrolledAt: true },
    });
    const keys = new Map<string, string>();
    const peers = live.filter((a) => {
      let k = keys.get(a.groupId);
      if (k === undefined) {
        k = setKey(a.groupId);
        keys.set(a.groupId, k);
      }
      return k === mine;
    });
    designatedMap = buildDesignatedMap(peers);
  }

  const hash = createHash("sha256")
    .update(JSON.stringify({ policies, designatedMap: designatedMap ?? null }))
    .digest("hex");
  if (designatedMap) designatedMap.version = Number.parseInt(hash.slice(0, 8), 16);
  return { revision: hash.slice(0, 32), policies, ...(designatedMap ? { designatedMap } : {}), orgPolicyIds };
}
