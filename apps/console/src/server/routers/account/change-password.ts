import { hashPassword, verifyPassword } from "@flowplane/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { newPassword } from "../../auth/password-reset.ts";
import { authedProcedure } from "../../trpc/procedures.ts";

/**
 * Changes the caller's password and bumps their session version: every session, this one
 * included, ends at once (the form signs in again with the new password).
 */
export const changePassword = authedProcedure
  .input(z.object({ currentPassword: z.string().min(1).max(1024), newPassword }))
  .output(z.object({ ok: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    const user = await ctx.db.unsafe.user.findUniqueOrThrow({
      where: { id: ctx.principal.userId },
      select: { passwordHash: true },
    });
    if (!user.passwordHash || !(await verifyPassword(user.passwordHash, input.currentPassword))) {
      throw new TRPCError({ code: "BAD_REQUEST", message: "The current password is wrong." });
    }
    await ctx.db.unsafe.user.update({
      where: { id: ctx.principal.userId },
      data: { passwordHash: await hashPassword(input.newPassword), sessionVersion: { increment: 1 } },
    });
    ctx.log.info("password changed; sessions ended");
    return { ok: true as const };
  });
