import { randomBytes } from "node:crypto";
import { hashPassword, hashToken } from "@flowplane/db";
import { z } from "zod";
import type { Db } from "../db.ts";

/** How long a reset link works. */
export const RESET_TTL_MS = 30 * 60_000;
const IDENTIFIER = "password-reset:";

/** The password rule for new passwords (sign-up, reset, change). */
export const newPassword = z.string().min(10, "Passwords need at least 10 characters.").max(1024);

/**
 * A one-time reset token for `email`, or null when no such user exists (the caller answers the
 * same either way). Stored as sha256 in next-auth's verification_tokens (platform table), keyed
 * by the user id; a new request replaces older links of the same user.
 */
export async function createPasswordResetToken(db: Db, email: string): Promise<string | null> {
  const user = await db.unsafe.user.findUnique({ where: { email }, select: { id: true } });
  if (!user) return null;
  const token = `fpr_${randomBytes(32).toString("base64url")}`;
  const identifier = `${IDENTIFIER}${user.id}`;
  await db.unsafe.verificationToken.deleteMany({ where: { identifier } });
  await db.unsafe.verificationToken.create({
    data: { identifier, token: hashToken(token), expires: new Date(Date.now() + RESET_TTL_MS) },
  });
  return token;
}

/**
 * Uses a reset token once: sets the new password, clears any lockout and bumps the session
 * version (every session of the user ends). False for an unknown, used or expired token.
 */
export async function resetPassword(db: Db, token: string, password: string): Promise<boolean> {
  const row = await db.unsafe.verificationToken.findUnique({ where: { token: hashToken(token) } });
  if (!row?.identifier.startsWith(IDENTIFIER)) return false;
  // Delete first: of two concurrent uses only the one that deletes the row goes on.
  const deleted = await db.unsafe.verificationToken.deleteMany({ where: { token: row.token } });
  if (deleted.count !== 1 || row.expires.getTime() <= Date.now()) return false;
  await db.unsafe.user.update({
    where: { id: row.identifier.slice(IDENTIFIER.length) },
    data: {
      passwordHash: await hashPassword(password),
      sessionVersion: { increment: 1 },
      failedSignIns: 0,
      lockedUntil: null,
    },
  });
  return true;
}
