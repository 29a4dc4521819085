import type { Db } from "@flowplane/db/client";
import { canaryIds, isStaged } from "../sync/rollout.ts";

export type TRolloutEvent = {
  orgId: string;
  groupId: string;
  revision: number;
  action: "started" | "promoted" | "halted";
  message?: string;
};

/**
 * Moves staged rollouts on, across every org (a platform job, hence unsafe): starts the rollout
 * of a newly saved revision, halts it when a canary fails the revision or turns unhealthy on it,
 * and promotes it to every agent once all canaries run it, online, for the hold time. Each update
 * is conditional on the revision it judged, so a revision saved meanwhile is never promoted blind.
 */
export async function unsafeAdvanceRollouts(db: Db, now = new Date()): Promise<TRolloutEvent[]> {
  const groups = await db.unsafe.agentGroup.findMany({
    where: { canaryPercent: { lt: 100 }, currentRevision: { gt: 0 } },
  });
  const events: TRolloutEvent[] = [];
  for (const g of groups) {
    if (!isStaged(g)) continue;
    const revision = g.currentRevision;
    const base = { orgId: g.orgId, groupId: g.id, revision };
    const same = {
      id: g.id,
      currentRevision: revision,
      rolloutState: g.rolloutState,
      rolloutRevision: g.rolloutRevision,
    };

    if (g.rolloutRevision !== revision) {
      const r = await db.unsafe.agentGroup.updateMany({
        where: same,
        data: {
          rolloutRevision: revision,
          rolloutState: "canary",
          rolloutStartedAt: now,
          rolloutMessage: null,
        },
      });
      if (r.count) events.push({ ...base, action: "started" });
      continue;
    }
    if (g.rolloutState !== "canary") continue;

    const agents = await db.unsafe.agent.findMany({
      where: { orgId: g.orgId, groupId: g.id, disabledAt: null },
      select: {
        id: true,
        state: true,
        appliedRevision: true,
        lastConfigRevision: true,
        lastConfigOk: true,
        lastConfigError: true,
      },
    });
    if (agents.length === 0) continue;
    const canaries = canaryIds(
      g.id,
      agents.map((a) => a.id),
      g.canaryPercent,
    );
    const onCanaries = agents.filter((a) => canaries.has(a.id));

    const failed = onCanaries.find((a) => a.lastConfigRevision === revision && a.lastConfigOk === false);
    const sick = onCanaries.find(
      (a) => a.appliedRevision === revision && (a.state === "degraded" || a.state === "offline"),
    );
    if (failed || sick) {
      const message = failed
        ? `canary agent ${failed.id} failed revision ${revision}: ${failed.lastConfigError ?? "no reason given"}`
        : `canary agent ${sick?.id} became ${sick?.state} on revision ${revision}`;
      const r = await db.unsafe.agentGroup.updateMany({
        where: same,
        data: { rolloutState: "halted", rolloutMessage: message },
      });
      if (r.count) events.push({ ...base, action: "halted", message });
      continue;
    }

    const held = g.rolloutStartedAt
      ? (now.getTime() - g.rolloutStartedAt.getTime()) / 1000 >= g.canaryHoldS
      : false;
    const allRunning = onCanaries.every((a) => a.appliedRevision === revision && a.state === "online");
    if (held && allRunning) {
      const message = `${onCanaries.length} canary agent(s) ran revision ${revision} healthy for ${g.canaryHoldS} s`;
      const r = await db.unsafe.agentGroup.updateMany({
        where: same,
        data: { stableRevision: revision, rolloutState: "idle", rolloutMessage: message },
      });
      if (r.count) events.push({ ...base, action: "promoted", message });
    }
  }
  return events;
}
