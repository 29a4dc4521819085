import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { newPassword, resetPassword as useResetToken } from "../../auth/password-reset.ts";
import { publicProcedure } from "../../trpc/procedures.ts";

/** Finishes a reset with the one-time token from the link; every session of the user ends. */
export const resetPassword = publicProcedure
  .input(z.object({ token: z.string().min(10).max(200), password: newPassword }))
  .output(z.object({ ok: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    if (!(await useResetToken(ctx.db, input.token, input.password))) {
      throw new TRPCError({
        code: "BAD_REQUEST",
        message: "This reset link is invalid, used or expired. Ask for a new one.",
      });
    }
    return { ok: true as const };
  });
