import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { assertMayTouchRole, assertNotLastOwner, roleSchema } from "./shared.ts";

/** Changes a member's role; the new role applies to their very next request. */
export const changeRole = orgProcedure("members.write")
  .input(z.object({ userId: z.uuid(), role: roleSchema }))
  .output(z.object({ userId: z.string(), role: roleSchema }))
  .mutation(async ({ ctx, input }) => {
    const where = { orgId_userId: { orgId: ctx.org.id, userId: input.userId } };
    const before = await ctx.db.membership.findUnique({ where, select: { role: true } });
    if (!before) throw new TRPCError({ code: "NOT_FOUND", message: "No such member." });
    assertMayTouchRole(ctx.role, before.role, input.role);
    if (before.role === "owner" && input.role !== "owner") await assertNotLastOwner(ctx.db, input.userId);
    await ctx.db.membership.update({ where, data: { role: input.role } });
    await writeAudit(ctx, {
      action: "members.role",
      targetType: "user",
      targetId: input.userId,
      before: { role: before.role },
      after: { role: input.role },
    });
    return { userId: input.userId, role: input.role };
  });
