import type { Logger } from "@flowplane/core/log";
import { generateToken } from "@flowplane/db";
import type { Db, ScopedClient } from "@flowplane/db/client";
import {
  DEFAULT_SYNC_INTERVAL_S,
  PROTOCOL_VERSION,
  type TAgentRunState,
  type TSyncResponse,
  ZAgentConfig,
  ZSyncRequest,
} from "@flowplane/protocol";
import { AgentApiError, invalidBody } from "../agents/api-error.ts";
import { assertProtocolVersion } from "../agents/protocol-version.ts";
import type { TAuthenticatedAgent } from "../auth/agent-auth.ts";
import { acceptNpbCounters, type TNpbCounterWriter } from "../npb/counters.ts";
import { npbForAgent } from "../npb/distribute.ts";
import { canaryIds, desiredRevision, isStaged, type TRolloutGroup } from "./rollout.ts";

export type TSyncOptions = {
  /** A credential older than this is rotated at the agent's next sync. */
  credentialMaxAgeS: number;
};

const STATE_OF: Record<TAgentRunState, "online" | "degraded" | "offline"> = {
  starting: "online",
  running: "online",
  degraded: "degraded",
  protective: "degraded",
  stopping: "offline",
};

/**
 * One agent check-in: stores heartbeat, stats and the outcome of the last revision it tried, and
 * answers the group's current revision, with the configuration only when the agent does not run it.
 */
export async function syncAgent(
  deps: { db: Db; log: Logger; options: TSyncOptions; writeNpbCounters?: TNpbCounterWriter },
  auth: { agent: TAuthenticatedAgent; orgDb: ScopedClient },
  body: unknown,
): Promise<TSyncResponse> {
  assertProtocolVersion(body, true);
  const parsed = ZSyncRequest.safeParse(body);
  if (!parsed.success) throw invalidBody("sync request", parsed.error);
  const req = parsed.data;
  const { agent, orgDb } = auth;
  if (req.agentId !== agent.agentId) {
    throw new AgentApiError(
      "FORBIDDEN",
      "agentId does not match the credential: an agent speaks only for itself",
    );
  }
  const now = new Date();

  const stored = await orgDb.agent.update({
    where: { id: agent.agentId },
    data: {
      lastSeenAt: now,
      stats: req.stats,
      version: req.stats.version,
      state: STATE_OF[req.state],
      protectiveMode: req.state === "protective",
      appliedRevision: req.appliedRevision,
      ...(req.hostIps ? { ips: req.hostIps } : {}),
      ...(req.applyResult
        ? {
            lastConfigRevision: req.applyResult.revision,
            lastConfigOk: req.applyResult.ok,
            lastConfigError: req.applyResult.ok ? null : (req.applyResult.error ?? "failed without a reason"),
            lastConfigAt: now,
          }
        : {}),
    },
    select: { dataNodeId: true, lastConfigRevision: true, lastConfigOk: true },
  });
  if (req.applyResult && !req.applyResult.ok) {
    deps.log.warn(
      {
        orgId: agent.orgId,
        agentId: agent.agentId,
        revision: req.applyResult.revision,
        error: req.applyResult.error,
      },
      "agent failed to apply a configuration revision",
    );
  }

  const group = await orgDb.agentGroup.findUniqueOrThrow({ where: { id: agent.groupId } });
  const revision = await revisionFor(orgDb, group, agent.agentId);
  const response: TSyncResponse = {
    protocolVersion: PROTOCOL_VERSION,
    revision,
    syncIntervalS: group.syncIntervalS || DEFAULT_SYNC_INTERVAL_S,
  };
  if (revision > 0) {
    const row = await orgDb.agentGroupConfig.findFirst({ where: { groupId: group.id, revision } });
    if (!row) throw new AgentApiError("INTERNAL", `group revision ${revision} has no stored configuration`);
    const config = ZAgentConfig.safeParse(row.config);
    if (!config.success) {
      // A stored config the agent cannot read would fail on every agent: say so loudly here.
      throw new AgentApiError(
        "INTERNAL",
        `group configuration revision ${revision} is invalid: ${config.error.issues[0]?.message ?? "unknown"}`,
      );
    }
    if (config.data.syncIntervalS) response.syncIntervalS = config.data.syncIntervalS;
    // A revision that failed on this agent is not resent every interval: the agent keeps its last
    // good config and the console shows the failure until a new revision is saved.
    const failedHere = stored.lastConfigOk === false && stored.lastConfigRevision === revision;
    if (req.appliedRevision !== revision && !failedHere) response.config = config.data;
  }

  const dataNode = await unsafeDataNodeUrl(deps.db, stored.dataNodeId);
  if (dataNode) response.dataNode = { url: dataNode };

  // Packet broker: policies and map only to agents that speak it (they send npbRevision, "" at
  // first) and only when their revision is not the current one.
  if (req.npbRevision !== undefined || req.npbCounters) {
    const npb = await npbForAgent(orgDb, agent, deps.log, now);
    if (req.npbRevision !== undefined && req.npbRevision !== npb.revision) {
      response.npb = {
        revision: npb.revision,
        policies: npb.policies,
        ...(npb.designatedMap ? { designatedMap: npb.designatedMap } : {}),
      };
    }
    if (req.npbCounters && req.npbCounters.length > 0) {
      response.npbCountersAccepted = await acceptNpbCounters(
        { write: deps.writeNpbCounters, log: deps.log },
        agent,
        req.npbCounters,
        npb.orgPolicyIds,
        now,
      );
    }
  }

  const rotated = await maybeRotateCredential(orgDb, agent, deps.options, now);
  if (rotated) response.rotateCredential = rotated;
  return response;
}

/**
 * The revision for this agent: the group's current one, or during a staged rollout the stable one
 * for agents outside the canary share. A group not staged keeps stableRevision = current, so a
 * later staged change starts from what every agent really runs.
 */
async function revisionFor(
  orgDb: ScopedClient,
  group: TRolloutGroup & { canaryPercent: number },
  agentId: string,
): Promise<number> {
  if (group.canaryPercent >= 100 && group.stableRevision !== group.currentRevision) {
    await orgDb.agentGroup.updateMany({
      where: { id: group.id, currentRevision: group.currentRevision, canaryPercent: { gte: 100 } },
      data: {
        stableRevision: group.currentRevision,
        rolloutRevision: group.currentRevision,
        rolloutState: "idle",
      },
    });
  }
  if (!isStaged(group)) return group.currentRevision;
  const members = await orgDb.agent.findMany({
    where: { groupId: group.id, disabledAt: null },
    select: { id: true },
  });
  return desiredRevision(group, () =>
    canaryIds(
      group.id,
      members.map((m) => m.id),
      group.canaryPercent,
    ).has(agentId),
  );
}

/** Data nodes are platform rows (shared by tenants): read through `unsafe`, by the agent's own assignment. */
async function unsafeDataNodeUrl(db: Db, dataNodeId: string | null): Promise<string | null> {
  if (!dataNodeId) return null;
  const node = await db.unsafe.dataNode.findUnique({
    where: { id: dataNodeId },
    select: { url: true, state: true },
  });
  return node && node.state !== "down" ? node.url : null;
}

/**
 * Rotation keeps exactly one credential the agent is known to hold valid at all times:
 * - agent used its current credential and it is old: current -> previous, a new one is current;
 * - agent used its previous one (it never got or never used the new one): the unconfirmed new one
 *   is replaced by a fresh one, the previous stays valid.
 * Each swap is a conditional update on the hash the request saw, so two racing syncs rotate once.
 */
async function maybeRotateCredential(
  orgDb: ScopedClient,
  agent: TAuthenticatedAgent,
  options: TSyncOptions,
  now: Date,
): Promise<string | null> {
  const fresh = generateToken("agent");
  if (agent.via === "previous") {
    const r = await orgDb.agent.updateMany({
      where: { id: agent.agentId, credentialPrevHash: agent.credentialHash },
      data: { credentialHash: fresh.hash, credentialIssuedAt: now },
    });
    return r.count === 1 ? fresh.token : null;
  }
  const ageS = (now.getTime() - agent.credentialIssuedAt.getTime()) / 1000;
  if (ageS < options.credentialMaxAgeS) return null;
  const r = await orgDb.agent.updateMany({
    where: { id: agent.agentId, credentialHash: agent.credentialHash },
    data: { credentialPrevHash: agent.credentialHash, credentialHash: fresh.hash, credentialIssuedAt: now },
  });
  return r.count === 1 ? fresh.token : null;
}
