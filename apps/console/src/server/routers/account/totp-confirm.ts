import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { authSecret } from "../../../env.ts";
import { openSecret, verifyTotp } from "../../auth/totp.ts";
import { authedProcedure } from "../../trpc/procedures.ts";
import { TOTP_SETUP } from "./totp-begin.ts";

/** Turns TOTP on once a code from the pending secret checks out; sign-ins then need a code. */
export const totpConfirm = authedProcedure
  .input(
    z.object({
      code: z
        .string()
        .trim()
        .regex(/^\d{6}$/, "Enter the 6-digit code from your app."),
    }),
  )
  .output(z.object({ enabled: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    const identifier = `${TOTP_SETUP}${ctx.principal.userId}`;
    const pending = await ctx.db.unsafe.verificationToken.findFirst({
      where: { identifier, expires: { gt: new Date() } },
    });
    if (!pending) throw new TRPCError({ code: "BAD_REQUEST", message: "Start the setup again: it expired." });
    if (!verifyTotp(openSecret(pending.token, authSecret()), input.code)) {
      throw new TRPCError({
        code: "BAD_REQUEST",
        message: "That code is not right. Check the app's clock and try the next code.",
      });
    }
    await ctx.db.unsafe.user.update({
      where: { id: ctx.principal.userId },
      data: { totpSecret: pending.token },
    });
    await ctx.db.unsafe.verificationToken.deleteMany({ where: { identifier } });
    ctx.log.info("two-factor sign-in turned on");
    return { enabled: true as const };
  });
