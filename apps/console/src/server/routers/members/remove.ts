import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { assertMayTouchRole, assertNotLastOwner } from "./shared.ts";

/**
 * Removes a member and bumps their session version, so their open sessions end at once (not
 * only their access to this org: a JWT cannot be revoked per org, so they sign in again).
 */
export const remove = orgProcedure("members.write")
  .input(z.object({ userId: z.uuid() }))
  .output(z.object({ userId: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const where = { orgId_userId: { orgId: ctx.org.id, userId: input.userId } };
    const before = await ctx.db.membership.findUnique({ where, select: { role: true } });
    if (!before) throw new TRPCError({ code: "NOT_FOUND", message: "No such member." });
    assertMayTouchRole(ctx.role, before.role);
    if (before.role === "owner") await assertNotLastOwner(ctx.db, input.userId);
    await ctx.db.membership.delete({ where });
    await ctx.platform.endSessionsOf(input.userId);
    await writeAudit(ctx, { action: "members.remove", targetType: "user", targetId: input.userId, before });
    return { userId: input.userId };
  });
