import { z } from "zod";
import { authSecret } from "../../../env.ts";
import { newTotpSecret, otpauthUri, sealSecret } from "../../auth/totp.ts";
import { authedProcedure } from "../../trpc/procedures.ts";

export const TOTP_SETUP = "totp-setup:";

/**
 * Starts turning on TOTP: a new secret, kept pending (10 minutes, sealed) until a code from the
 * authenticator app confirms it (`totpConfirm`). Returns the secret and its otpauth:// URI.
 */
export const totpBegin = authedProcedure
  .input(z.void())
  .output(z.object({ secret: z.string(), uri: z.string() }))
  .mutation(async ({ ctx }) => {
    const secret = newTotpSecret();
    const identifier = `${TOTP_SETUP}${ctx.principal.userId}`;
    await ctx.db.unsafe.verificationToken.deleteMany({ where: { identifier } });
    await ctx.db.unsafe.verificationToken.create({
      data: {
        identifier,
        token: sealSecret(secret, authSecret()),
        expires: new Date(Date.now() + 10 * 60_000),
      },
    });
    return { secret, uri: otpauthUri(secret, ctx.principal.email) };
  });
