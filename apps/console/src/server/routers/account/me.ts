import { z } from "zod";
import { authedProcedure } from "../../trpc/procedures.ts";

/** The signed-in user's own account. */
export const me = authedProcedure
  .input(z.void())
  .output(
    z.object({ id: z.string(), email: z.string(), name: z.string().nullable(), totpEnabled: z.boolean() }),
  )
  .query(async ({ ctx }) => {
    const user = await ctx.db.unsafe.user.findUniqueOrThrow({
      where: { id: ctx.principal.userId },
      select: { id: true, email: true, name: true, totpSecret: true },
    });
    return { id: user.id, email: user.email, name: user.name, totpEnabled: user.totpSecret !== null };
  });
