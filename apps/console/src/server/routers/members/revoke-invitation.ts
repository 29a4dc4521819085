import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/** Withdraws a pending invitation (its link stops working). */
export const revokeInvitation = orgProcedure("members.write")
  .input(z.object({ invitationId: z.uuid() }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const before = await ctx.db.invitation.findUnique({
      where: { id: input.invitationId },
      select: { id: true, email: true, role: true, acceptedAt: true },
    });
    if (!before || before.acceptedAt)
      throw new TRPCError({ code: "NOT_FOUND", message: "No such pending invitation." });
    await ctx.db.invitation.delete({ where: { id: before.id } });
    await writeAudit(ctx, {
      action: "members.invitation.revoke",
      targetType: "invitation",
      targetId: before.id,
      before,
    });
    return { id: before.id };
  });
