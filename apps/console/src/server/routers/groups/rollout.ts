import { canaryIds, isStaged } from "@flowplane/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

/** Per agent, against the revision the rollout is about. */
export const rolloutAgentStatus = z.enum(["applied", "failed", "pending", "held_back"]);

export const rolloutView = z.object({
  groupId: z.string(),
  currentRevision: z.number().int(),
  stableRevision: z.number().int(),
  canaryPercent: z.number().int(),
  canaryHoldS: z.number().int(),
  /** none: no revision yet; complete: every agent should run current; canary/halted: staged. */
  phase: z.enum(["none", "complete", "canary", "halted"]),
  rolloutStartedAt: z.string().nullable(),
  /** Seconds the canaries still have to stay healthy before the job promotes (canary phase). */
  holdRemainingS: z.number().int().nullable(),
  rolloutMessage: z.string().nullable(),
  counts: z.object({
    applied: z.number().int(),
    failed: z.number().int(),
    pending: z.number().int(),
    held_back: z.number().int(),
  }),
  agents: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      state: z.string(),
      canary: z.boolean(),
      /** The revision the controller hands this agent now (sync's own rule). */
      targetRevision: z.number().int(),
      appliedRevision: z.number().int(),
      status: rolloutAgentStatus,
      error: z.string().nullable(),
      lastSeenAt: z.string().nullable(),
    }),
  ),
});

/**
 * The group's rollout as the controller runs it: which revision each agent should run (canaries by
 * the same stable hash rank as sync), what each reported (applied, failed with its error, pending),
 * and the rollout job's state (canary with the time left, halted with why). Agents held at the
 * stable revision during a canary stage are `held_back`, not pending.
 */
export const rollout = orgProcedure("groups.read")
  .input(z.object({ groupId: z.uuid() }))
  .output(rolloutView)
  .query(async ({ ctx, input }) => {
    const g = await ctx.db.agentGroup.findUnique({ where: { id: input.groupId } });
    if (!g) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent group." });
    // The same member set as sync and the rollout job: disabled agents take no part.
    const agents = await ctx.db.agent.findMany({
      where: { groupId: g.id, disabledAt: null },
      select: {
        id: true,
        name: true,
        state: true,
        appliedRevision: true,
        lastConfigRevision: true,
        lastConfigOk: true,
        lastConfigError: true,
        lastSeenAt: true,
        archivedAt: true,
      },
      orderBy: [{ name: "asc" }, { id: "asc" }],
    });
    const staged = isStaged(g);
    const canaries = staged
      ? canaryIds(
          g.id,
          agents.map((a) => a.id),
          g.canaryPercent,
        )
      : new Set<string>();
    const halted = staged && g.rolloutState === "halted" && g.rolloutRevision === g.currentRevision;
    const phase = g.currentRevision === 0 ? "none" : !staged ? "complete" : halted ? "halted" : "canary";
    const revision = g.currentRevision;
    const rows = agents
      // Archived agents are gone from the fleet view; they would only ever be "pending".
      .filter((a) => a.archivedAt === null)
      .map((a) => {
        const canary = canaries.has(a.id);
        const targetRevision =
          phase === "halted" ? g.stableRevision : phase === "canary" && !canary ? g.stableRevision : revision;
        const failed = a.lastConfigRevision === revision && a.lastConfigOk === false;
        const status: z.infer<typeof rolloutAgentStatus> =
          a.appliedRevision === revision
            ? "applied"
            : failed
              ? "failed"
              : targetRevision !== revision
                ? "held_back"
                : "pending";
        return {
          id: a.id,
          name: a.name,
          state: a.state,
          canary,
          targetRevision,
          appliedRevision: a.appliedRevision,
          status,
          error: failed ? (a.lastConfigError ?? "failed without a reason") : null,
          lastSeenAt: a.lastSeenAt ? a.lastSeenAt.toISOString() : null,
        };
      });
    const counts = { applied: 0, failed: 0, pending: 0, held_back: 0 };
    for (const r of rows) counts[r.status]++;
    const holdRemainingS =
      phase === "canary" && g.rolloutStartedAt && g.rolloutRevision === revision
        ? Math.max(0, Math.ceil(g.canaryHoldS - (Date.now() - g.rolloutStartedAt.getTime()) / 1000))
        : null;
    return {
      groupId: g.id,
      currentRevision: revision,
      stableRevision: g.stableRevision,
      canaryPercent: g.canaryPercent,
      canaryHoldS: g.canaryHoldS,
      phase,
      rolloutStartedAt: g.rolloutStartedAt ? g.rolloutStartedAt.toISOString() : null,
      holdRemainingS,
      rolloutMessage: g.rolloutMessage,
      counts,
      agents: rows,
    };
  });
