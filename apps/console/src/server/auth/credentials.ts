import { hashPassword, verifyPassword } from "@flowplane/db";
import { z } from "zod";
import type { Db } from "../db.ts";

export const credentialsSchema = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email()),
  password: z.string().min(1).max(1024),
});

/** What a successful sign-in puts into the JWT. */
export type AuthUser = { id: string; email: string; name: string | null; sessionVersion: number };

let dummyHash: Promise<string> | undefined;

/**
 * next-auth's credentials `authorize`: the user for a correct email and password, else null.
 * Unknown emails still pay for one hash verification so response time does not reveal which
 * addresses have accounts.
 */
export async function authorizeCredentials(db: Db, raw: unknown): Promise<AuthUser | null> {
  const parsed = credentialsSchema.safeParse(raw);
  if (!parsed.success) return null;
  const { email, password } = parsed.data;
  const user = await db.unsafe.user.findUnique({
    where: { email },
    select: {
      id: true,
      email: true,
      name: true,
      passwordHash: true,
      sessionVersion: true,
      lockedUntil: true,
    },
  });
  if (!user?.passwordHash) {
    dummyHash ??= hashPassword("flowplane-timing-equaliser");
    await verifyPassword(await dummyHash, password).catch(() => false);
    return null;
  }
  if (!(await verifyPassword(user.passwordHash, password))) return null;
  if (user.lockedUntil && user.lockedUntil.getTime() > Date.now()) return null;
  await db.unsafe.user.update({ where: { id: user.id }, data: { lastSignInAt: new Date() } });
  return { id: user.id, email: user.email, name: user.name, sessionVersion: user.sessionVersion };
}
