import { hashPassword, verifyPassword } from "@flowplane/db";
import { z } from "zod";
import type { Db } from "../db.ts";
import { openSecret, verifyTotp } from "./totp.ts";

export const credentialsSchema = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email()),
  password: z.string().min(1).max(1024),
  /** The TOTP code, for accounts with a second factor. */
  code: z.string().trim().max(10).optional(),
});

/** What a successful sign-in puts into the JWT. */
export type AuthUser = { id: string; email: string; name: string | null; sessionVersion: number };

/** Failed sign-ins in a row that lock an account, and for how long. */
export const LOCKOUT = { maxFailures: 5, lockMs: 15 * 60_000 } as const;

/** Thrown (not returned) so next-auth passes the code to the form as `error`. */
export const ACCOUNT_LOCKED = "AccountLocked";
/** The password was right; the account wants its TOTP code (the form asks for it and resubmits). */
export const TOTP_REQUIRED = "TotpRequired";
/** The TOTP code was wrong (counts as a failed sign-in). */
export const TOTP_INVALID = "TotpInvalid";

let dummyHash: Promise<string> | undefined;

/**
 * next-auth's credentials `authorize`: the user for a correct email and password, else null.
 * Unknown emails still pay for one hash verification so response time does not reveal which
 * addresses have accounts. Rate limiting lives in Postgres (users.failed_sign_ins /
 * locked_until): every wrong password counts, the fifth in a row locks the account for 15
 * minutes (even the right password is refused meanwhile), a success or a password reset clears it.
 * Accounts with TOTP need the code too (`authSecret` opens the stored secret); a wrong code
 * counts as a failure like a wrong password.
 */
export async function authorizeCredentials(
  db: Db,
  raw: unknown,
  authSecret?: string,
): Promise<AuthUser | null> {
  const parsed = credentialsSchema.safeParse(raw);
  if (!parsed.success) return null;
  const { email, password, code } = parsed.data;
  const user = await db.unsafe.user.findUnique({
    where: { email },
    select: {
      id: true,
      email: true,
      name: true,
      passwordHash: true,
      sessionVersion: true,
      lockedUntil: true,
      totpSecret: true,
    },
  });
  if (!user?.passwordHash) {
    dummyHash ??= hashPassword("flowplane-timing-equaliser");
    await verifyPassword(await dummyHash, password).catch(() => false);
    return null;
  }
  const now = Date.now();
  if (user.lockedUntil && user.lockedUntil.getTime() > now) throw new Error(ACCOUNT_LOCKED);
  const passwordOk = await verifyPassword(user.passwordHash, password);
  if (passwordOk && user.totpSecret && !code) throw new Error(TOTP_REQUIRED);
  const codeOk =
    !user.totpSecret || (!!code && !!authSecret && verifyTotp(openSecret(user.totpSecret, authSecret), code));
  if (!passwordOk || !codeOk) {
    // One atomic increment, then lock if this failure reached the limit (concurrent guesses all count).
    const after = await db.unsafe.user.update({
      where: { id: user.id },
      data: { failedSignIns: { increment: 1 } },
      select: { failedSignIns: true },
    });
    if (after.failedSignIns >= LOCKOUT.maxFailures) {
      await db.unsafe.user.update({
        where: { id: user.id },
        data: { lockedUntil: new Date(now + LOCKOUT.lockMs), failedSignIns: 0 },
      });
      throw new Error(ACCOUNT_LOCKED);
    }
    if (passwordOk) throw new Error(TOTP_INVALID);
    return null;
  }
  await db.unsafe.user.update({
    where: { id: user.id },
    data: { lastSignInAt: new Date(), failedSignIns: 0, lockedUntil: null },
  });
  return { id: user.id, email: user.email, name: user.name, sessionVersion: user.sessionVersion };
}
