import type { Db } from "../db.ts";

/** The claims our JWT carries (see auth/options.ts). */
export type SessionClaims = { userId: string; sessionVersion: number };

/**
 * Who is calling. Only users today; API keys (issue 6) will add `{ kind: "apiKey", orgId, role }`
 * and orgProcedure resolves both in one place.
 */
export type Principal = { kind: "user"; userId: string; email: string; name: string | null };

/**
 * Turns JWT claims into a principal, re-checked against the database on every request: a user
 * who was deleted or whose session version was bumped (sign-out everywhere, password change) is
 * signed out at once even though the JWT itself is still valid.
 */
export async function principalFromClaims(db: Db, claims: SessionClaims | null): Promise<Principal | null> {
  if (!claims) return null;
  const user = await db.unsafe.user.findUnique({
    where: { id: claims.userId },
    select: { id: true, email: true, name: true, sessionVersion: true },
  });
  if (!user || user.sessionVersion !== claims.sessionVersion) return null;
  return { kind: "user", userId: user.id, email: user.email, name: user.name };
}

/** Reads our claims out of a decoded next-auth token (or session), tolerating anything else. */
export function claimsFrom(value: unknown): SessionClaims | null {
  if (!value || typeof value !== "object") return null;
  const { userId, sessionVersion } = value as Record<string, unknown>;
  if (typeof userId !== "string" || typeof sessionVersion !== "number") return null;
  return { userId, sessionVersion };
}
