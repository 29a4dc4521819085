import { createHash } from "node:crypto";

/**
 * Staged rollout of a group's configuration (shared by the controller, which acts on it, and the
 * console, which shows it). The console saves revision n+1 and moves
 * currentRevision as always; with canaryPercent < 100 only the canary agents get it, the others
 * keep stableRevision until the rollout job promotes it (canaries healthy for canaryHoldS) or
 * halts it (a canary failed or went unhealthy: canaries fall back to stable too).
 */
export type TRolloutGroup = {
  id: string;
  currentRevision: number;
  stableRevision: number;
  canaryPercent: number;
  rolloutRevision: number;
  rolloutState: "idle" | "canary" | "halted";
};

/** A stable order of agents per group, so the same agents are canaries every time. */
function rank(groupId: string, agentId: string): string {
  return createHash("sha256").update(`${groupId}:${agentId}`).digest("hex");
}

/** The canaries: the first ceil(n · pct / 100) agents by rank, at least one. */
export function canaryIds(groupId: string, agentIds: string[], percent: number): Set<string> {
  const n = Math.max(1, Math.ceil((agentIds.length * Math.max(0, percent)) / 100));
  return new Set([...agentIds].sort((a, b) => (rank(groupId, a) < rank(groupId, b) ? -1 : 1)).slice(0, n));
}

/** Is a staged rollout of currentRevision in play (as opposed to "every agent runs current")? */
export function isStaged(g: TRolloutGroup): boolean {
  return (
    g.canaryPercent < 100 &&
    g.stableRevision > 0 &&
    g.stableRevision < g.currentRevision &&
    !(g.rolloutState === "idle" && g.rolloutRevision === g.currentRevision)
  );
}

/** The revision this agent should run now. `isCanary` is asked only during a staged rollout. */
export function desiredRevision(g: TRolloutGroup, isCanary: () => boolean): number {
  if (!isStaged(g)) return g.currentRevision;
  if (g.rolloutState === "halted" && g.rolloutRevision === g.currentRevision) return g.stableRevision;
  return isCanary() ? g.currentRevision : g.stableRevision;
}
