import { z } from "zod";
import { logLinks } from "../../../env.ts";
import { createPasswordResetToken, RESET_TTL_MS } from "../../auth/password-reset.ts";
import { publicProcedure } from "../../trpc/procedures.ts";

/**
 * Starts a password reset. Answers the same whether or not the email has an account. No mailer
 * exists yet: the link goes to the log when FLOWPLANE_LOG_LINKS allows (default outside production).
 */
export const requestPasswordReset = publicProcedure
  .input(z.object({ email: z.string().trim().toLowerCase().pipe(z.email("Enter a valid email address.")) }))
  .output(z.object({ sent: z.literal(true), expiresInMinutes: z.number() }))
  .mutation(async ({ ctx, input }) => {
    const token = await createPasswordResetToken(ctx.db, input.email);
    if (token) {
      const origin = ctx.origin ?? "";
      if (logLinks())
        ctx.log.info({ resetLink: `${origin}/reset-password?token=${token}` }, "password reset link");
      else ctx.log.info("password reset requested (links are not logged in production)");
    }
    return { sent: true as const, expiresInMinutes: RESET_TTL_MS / 60_000 };
  });
