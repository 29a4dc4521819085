import { createLogger } from "@flowplane/core/log";
import type { OAuthConfig } from "next-auth/providers/oauth";
import { z } from "zod";
import type { OidcSettings } from "../../env.ts";
import type { Db } from "../db.ts";
import { isUniqueViolation } from "../prisma-errors.ts";
import type { AuthUser } from "./credentials.ts";

const log = createLogger("console-auth");

/** next-auth's id for the generic OpenID Connect provider (its callback is /api/auth/callback/oidc). */
export const OIDC_PROVIDER_ID = "oidc";

/** Refusals the sign-in page explains (next-auth passes them as `?error=`). */
export const OIDC_NO_EMAIL = "OidcNoEmail";
export const OIDC_EMAIL_NOT_VERIFIED = "OidcEmailNotVerified";

/** The claims we read; everything else the IdP sends is ignored. */
const ZOidcClaims = z.object({
  sub: z.string().min(1).max(255),
  email: z.string().trim().toLowerCase().pipe(z.email()).optional().catch(undefined),
  // Some IdPs (Cognito among them) send the boolean as a string.
  email_verified: z
    .union([z.boolean(), z.literal("true"), z.literal("false")])
    .optional()
    .catch(undefined),
  name: z.string().trim().max(200).optional().catch(undefined),
  preferred_username: z.string().trim().max(200).optional().catch(undefined),
});
export type OidcClaims = z.infer<typeof ZOidcClaims>;

/** What `linkOidcUser` needs from a verified sign-in. */
export type OidcIdentity = {
  /** `accounts.provider`: the issuer is part of it, so subjects of another IdP never match. */
  provider: string;
  subject: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
};

export type OidcLinkResult =
  | { ok: true; user: AuthUser; created: boolean; linked: boolean }
  | { ok: false; reason: typeof OIDC_NO_EMAIL | typeof OIDC_EMAIL_NOT_VERIFIED };

/** The `accounts.provider` value of an issuer (trailing slash ignored). */
export function oidcAccountProvider(issuer: string): string {
  return `oidc:${issuer.replace(/\/+$/, "")}`;
}

/** The identity in a set of IdP claims (id token and userinfo merged), or null if they lack a subject. */
export function identityFromClaims(issuer: string, raw: unknown): OidcIdentity | null {
  const parsed = ZOidcClaims.safeParse(raw);
  if (!parsed.success) return null;
  const c = parsed.data;
  return {
    provider: oidcAccountProvider(issuer),
    subject: c.sub,
    email: c.email,
    emailVerified: c.email_verified === true || c.email_verified === "true",
    name: c.name || c.preferred_username || undefined,
  };
}

const USER_FIELDS = { id: true, email: true, name: true, sessionVersion: true } as const;

/**
 * Finds or makes the local user of an OIDC sign-in (decision in docs/decisions.md):
 * 1. a known (issuer, subject) is that account's user, whatever the email says now;
 * 2. else an existing user with the same email is linked only when the IdP says
 *    `email_verified`: otherwise anyone who can set that address at the IdP would take over
 *    the password account;
 * 3. else a new user is created (no password; `email_verified` kept when the IdP vouched).
 * Password lockout and TOTP belong to password sign-in; the IdP applies its own factors.
 */
export async function linkOidcUser(db: Db, identity: OidcIdentity, retried = false): Promise<OidcLinkResult> {
  const now = new Date();
  const key = { provider: identity.provider, providerAccountId: identity.subject };
  // Sign-in is before any org exists in the request: deliberately unscoped, users are platform-level.
  const known = await db.unsafe.account.findUnique({
    where: { provider_providerAccountId: key },
    select: { user: { select: USER_FIELDS } },
  });
  if (known) {
    await db.unsafe.user.update({ where: { id: known.user.id }, data: { lastSignInAt: now } });
    return { ok: true, user: known.user, created: false, linked: false };
  }
  if (!identity.email) return { ok: false, reason: OIDC_NO_EMAIL };
  const existing = await db.unsafe.user.findUnique({
    where: { email: identity.email },
    select: { ...USER_FIELDS, emailVerified: true },
  });
  try {
    if (existing) {
      if (!identity.emailVerified) return { ok: false, reason: OIDC_EMAIL_NOT_VERIFIED };
      await db.unsafe.account.create({ data: { userId: existing.id, type: "oidc", ...key } });
      await db.unsafe.user.update({
        where: { id: existing.id },
        data: { lastSignInAt: now, ...(existing.emailVerified ? {} : { emailVerified: now }) },
      });
      const { emailVerified: _, ...user } = existing;
      log.info(
        { userId: user.id, provider: identity.provider },
        "OIDC identity linked to an existing account",
      );
      return { ok: true, user, created: false, linked: true };
    }
    const user = await db.unsafe.user.create({
      data: {
        email: identity.email,
        name: identity.name ?? null,
        emailVerified: identity.emailVerified ? now : null,
        lastSignInAt: now,
        accounts: { create: { type: "oidc", ...key } },
      },
      select: USER_FIELDS,
    });
    log.info({ userId: user.id, provider: identity.provider }, "user created on first OIDC sign-in");
    return { ok: true, user, created: true, linked: true };
  } catch (err) {
    // Two first sign-ins at once (two tabs): the loser's insert hits a unique key; the winner's
    // row now answers step 1 or 2.
    if (isUniqueViolation(err) && !retried) return linkOidcUser(db, identity, true);
    throw err;
  }
}

/** The local user behind an OIDC subject that `linkOidcUser` has accepted. */
export async function userOfOidcAccount(db: Db, provider: string, subject: string): Promise<AuthUser | null> {
  const row = await db.unsafe.account.findUnique({
    where: { provider_providerAccountId: { provider, providerAccountId: subject } },
    select: { user: { select: USER_FIELDS } },
  });
  return row?.user ?? null;
}

/**
 * next-auth 4's generic OAuth provider set up for OpenID Connect: discovery from the issuer, the
 * id token verified (signature, issuer, audience), PKCE and state, and the userinfo claims merged
 * in, since many IdPs put `email` there rather than in the id token.
 */
export function oidcProvider(settings: OidcSettings): OAuthConfig<OidcClaims> {
  const issuer = settings.issuer.replace(/\/+$/, "");
  return {
    id: OIDC_PROVIDER_ID,
    name: settings.name,
    type: "oauth",
    wellKnown: `${issuer}/.well-known/openid-configuration`,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    idToken: true,
    checks: ["pkce", "state"],
    authorization: { params: { scope: "openid email profile" } },
    userinfo: {
      async request({ tokens, client }) {
        // With `idToken: true` next-auth hands over openid-client's TokenSet (typed as its
        // parameters): its claims are the verified id token's.
        const set = tokens as Parameters<typeof client.userinfo>[0] & { claims(): Record<string, unknown> };
        const claims = set.claims();
        if (!client.issuer.metadata.userinfo_endpoint || !tokens.access_token) return claims;
        // Given the TokenSet, openid-client refuses a userinfo answer whose `sub` is not the id token's.
        return { ...claims, ...(await client.userinfo(set)) };
      },
    },
    // The IdP's identity as next-auth's "user"; the signIn callback turns it into a local user.
    profile: (claims) => ({
      id: claims.sub,
      email: claims.email ?? null,
      name: claims.name ?? null,
      sessionVersion: -1,
    }),
  };
}
