import { hashToken, type TRole, tokenKind } from "@flowplane/db";
import type { Db } from "../db.ts";

/** The claims our JWT carries (see auth/options.ts). */
export type SessionClaims = { userId: string; sessionVersion: number };

export type UserPrincipal = { kind: "user"; userId: string; email: string; name: string | null };
/** A script calling with `Authorization: Bearer fpk_…`: bound to one org and one role. */
export type ApiKeyPrincipal = { kind: "apiKey"; apiKeyId: string; orgId: string; role: TRole; name: string };

/** Who is calling. orgProcedure resolves both kinds in one place (trpc/procedures.ts). */
export type Principal = UserPrincipal | ApiKeyPrincipal;

/**
 * Turns JWT claims into a principal, re-checked against the database on every request: a user
 * who was deleted or whose session version was bumped (sign-out everywhere, password change) is
 * signed out at once even though the JWT itself is still valid.
 */
export async function principalFromClaims(
  db: Db,
  claims: SessionClaims | null,
): Promise<UserPrincipal | null> {
  if (!claims) return null;
  const user = await db.unsafe.user.findUnique({
    where: { id: claims.userId },
    select: { id: true, email: true, name: true, sessionVersion: true },
  });
  if (!user || user.sessionVersion !== claims.sessionVersion) return null;
  return { kind: "user", userId: user.id, email: user.email, name: user.name };
}

/** The bearer token of an `Authorization` header, when it is an API key (`fpk_…`). */
export function apiKeyFromHeader(header: string | null | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header?.trim() ?? "");
  const token = match?.[1];
  return token && tokenKind(token) === "api" ? token : null;
}

/**
 * An API key as a principal: found by its sha256 (one index probe), not revoked, not expired, its
 * org not being deleted. Marks `lastUsedAt` (to the minute). Null for anything else, which the API answers 401.
 */
export async function principalFromApiKey(db: Db, token: string): Promise<ApiKeyPrincipal | null> {
  // Deliberately unscoped: the key is what tells us the org.
  const key = await db.unsafe.apiKey.findUnique({
    where: { tokenHash: hashToken(token) },
    select: {
      id: true,
      orgId: true,
      role: true,
      name: true,
      revokedAt: true,
      expiresAt: true,
      lastUsedAt: true,
      organization: { select: { deletedAt: true } },
    },
  });
  const now = new Date();
  if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= now) || key.organization.deletedAt)
    return null;
  // At most one write a minute per key: a busy script should not turn every read into a write.
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > 60_000) {
    await db.unsafe.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now } });
  }
  return { kind: "apiKey", apiKeyId: key.id, orgId: key.orgId, role: key.role, name: key.name };
}

/** Reads our claims out of a decoded next-auth token (or session), tolerating anything else. */
export function claimsFrom(value: unknown): SessionClaims | null {
  if (!value || typeof value !== "object") return null;
  const { userId, sessionVersion } = value as Record<string, unknown>;
  if (typeof userId !== "string" || typeof sessionVersion !== "number") return null;
  return { userId, sessionVersion };
}
