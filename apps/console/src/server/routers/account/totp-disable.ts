import { verifyPassword } from "@flowplane/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { authedProcedure } from "../../trpc/procedures.ts";

/** Turns TOTP off; needs the current password. */
export const totpDisable = authedProcedure
  .input(z.object({ password: z.string().min(1).max(1024) }))
  .output(z.object({ enabled: z.literal(false) }))
  .mutation(async ({ ctx, input }) => {
    const user = await ctx.db.unsafe.user.findUniqueOrThrow({
      where: { id: ctx.principal.userId },
      select: { passwordHash: true },
    });
    if (!user.passwordHash || !(await verifyPassword(user.passwordHash, input.password))) {
      throw new TRPCError({ code: "BAD_REQUEST", message: "The password is wrong." });
    }
    await ctx.db.unsafe.user.update({ where: { id: ctx.principal.userId }, data: { totpSecret: null } });
    ctx.log.info("two-factor sign-in turned off");
    return { enabled: false as const };
  });
