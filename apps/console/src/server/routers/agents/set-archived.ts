import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/**
 * Archives an agent by hand (hidden from the fleet list, kept with its history) or restores one the
 * archive job archived. The controller's job restores an archived agent that syncs again by itself.
 */
export const setArchived = orgProcedure("agents.write")
  .input(z.object({ agentId: z.uuid(), archived: z.boolean() }))
  .output(z.object({ id: z.string(), archivedAt: z.string().nullable() }))
  .mutation(async ({ ctx, input }) => {
    const before = await ctx.db.agent.findUnique({
      where: { id: input.agentId },
      select: { id: true, archivedAt: true, state: true },
    });
    if (!before) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent." });
    // A live agent would be restored by the controller at its next sync: refuse rather than flicker.
    if (input.archived && (before.state === "online" || before.state === "degraded")) {
      throw new TRPCError({
        code: "PRECONDITION_FAILED",
        message: `The agent is ${before.state}: only offline, pending or disabled agents can be archived.`,
      });
    }
    const after = await ctx.db.agent.update({
      where: { id: before.id },
      data: { archivedAt: input.archived ? (before.archivedAt ?? new Date()) : null },
      select: { id: true, archivedAt: true, state: true },
    });
    await writeAudit(ctx, {
      action: input.archived ? "agents.archive" : "agents.restore",
      targetType: "agent",
      targetId: before.id,
      before,
      after,
    });
    return { id: after.id, archivedAt: after.archivedAt ? after.archivedAt.toISOString() : null };
  });
