import { z } from "zod";
import { authedProcedure } from "../../trpc/procedures.ts";

/** Ends every session of the caller (all browsers) by bumping the session version. */
export const signOutEverywhere = authedProcedure
  .input(z.void())
  .output(z.object({ ok: z.literal(true) }))
  .mutation(async ({ ctx }) => {
    await ctx.db.unsafe.user.update({
      where: { id: ctx.principal.userId },
      data: { sessionVersion: { increment: 1 } },
    });
    return { ok: true as const };
  });
