import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/**
 * How the group's next configuration change reaches its agents: 100 % at once, or a canary share
 * first that must stay healthy for `canaryHoldS` before the rest get it. Takes effect at once:
 * during a canary stage the controller recomputes the canary set from the new share at each sync
 * (100 % promotes the current revision to every agent).
 */
export const setRollout = orgProcedure("groups.write")
  .input(
    z.object({
      groupId: z.uuid(),
      canaryPercent: z.number().int().min(1).max(100),
      canaryHoldS: z
        .number()
        .int()
        .min(10)
        .max(7 * 24 * 3600),
    }),
  )
  .output(z.object({ canaryPercent: z.number().int(), canaryHoldS: z.number().int() }))
  .mutation(async ({ ctx, input }) => {
    const before = await ctx.db.agentGroup.findUnique({
      where: { id: input.groupId },
      select: { id: true, canaryPercent: true, canaryHoldS: true },
    });
    if (!before) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent group." });
    const after = await ctx.db.agentGroup.update({
      where: { id: before.id },
      data: { canaryPercent: input.canaryPercent, canaryHoldS: input.canaryHoldS },
      select: { canaryPercent: true, canaryHoldS: true },
    });
    await writeAudit(ctx, {
      action: "groups.rollout.set",
      targetType: "agent_group",
      targetId: before.id,
      before: { canaryPercent: before.canaryPercent, canaryHoldS: before.canaryHoldS },
      after,
    });
    return after;
  });
