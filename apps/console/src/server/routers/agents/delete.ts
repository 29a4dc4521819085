import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/** Deletes an agent record (its credential stops working); the audit row keeps what it was. */
export const deleteAgent = orgProcedure("agents.write")
  .input(z.object({ agentId: z.uuid() }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const before = await ctx.db.agent.findUnique({
      where: { id: input.agentId },
      select: { id: true, name: true, hostname: true, groupId: true, state: true, version: true },
    });
    if (!before) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent." });
    await ctx.db.agent.delete({ where: { id: before.id } });
    await writeAudit(ctx, { action: "agents.delete", targetType: "agent", targetId: before.id, before });
    return { id: before.id };
  });
