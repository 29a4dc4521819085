import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/** Revokes an enrolment token: no new agent can join with it (enrolled agents stay). */
export const revoke = orgProcedure("enrollment.write")
  .input(z.object({ tokenId: z.uuid() }))
  .output(z.object({ id: z.string(), revokedAt: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const before = await ctx.db.enrollmentToken.findUnique({
      where: { id: input.tokenId },
      select: { id: true, name: true, prefix: true, revokedAt: true },
    });
    if (!before) throw new TRPCError({ code: "NOT_FOUND", message: "No such enrolment token." });
    if (before.revokedAt) return { id: before.id, revokedAt: before.revokedAt.toISOString() };
    const revokedAt = new Date();
    await ctx.db.enrollmentToken.update({ where: { id: before.id }, data: { revokedAt } });
    await writeAudit(ctx, {
      action: "enrollment.revoke",
      targetType: "enrollment_token",
      targetId: before.id,
      before,
      after: { ...before, revokedAt },
    });
    return { id: before.id, revokedAt: revokedAt.toISOString() };
  });
