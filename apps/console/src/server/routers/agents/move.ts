import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/** Moves an agent to another group of the same org; it picks up that group's config at its next sync. */
export const move = orgProcedure("agents.write")
  .input(z.object({ agentId: z.uuid(), groupId: z.uuid() }))
  .output(z.object({ id: z.string(), groupId: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const [agent, group] = await Promise.all([
      ctx.db.agent.findUnique({ where: { id: input.agentId }, select: { id: true, groupId: true } }),
      ctx.db.agentGroup.findUnique({ where: { id: input.groupId }, select: { id: true, name: true } }),
    ]);
    if (!agent) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent." });
    if (!group) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent group." });
    await ctx.db.agent.update({ where: { id: agent.id }, data: { groupId: group.id } });
    await writeAudit(ctx, {
      action: "agents.move",
      targetType: "agent",
      targetId: agent.id,
      before: { groupId: agent.groupId },
      after: { groupId: group.id, group: group.name },
    });
    return { id: agent.id, groupId: group.id };
  });
