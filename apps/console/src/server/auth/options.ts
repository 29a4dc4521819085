import { createLogger } from "@flowplane/core/log";
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { authSecret, type OidcSettings, oidcSettings } from "../../env.ts";
import { appDb, type Db } from "../db.ts";
import { authorizeCredentials } from "./credentials.ts";
import {
  identityFromClaims,
  linkOidcUser,
  OIDC_PROVIDER_ID,
  oidcAccountProvider,
  oidcProvider,
  userOfOidcAccount,
} from "./oidc.ts";

declare module "next-auth" {
  interface User {
    sessionVersion: number;
  }
  interface Session {
    userId: string;
    sessionVersion: number;
  }
}
declare module "next-auth/jwt" {
  interface JWT {
    userId?: string;
    sessionVersion?: number;
  }
}

/**
 * next-auth configuration. Credentials sign-in needs JWT sessions; the token carries the user id
 * and session version, which every request re-checks against the database (principal.ts). With
 * `oidc` set, a generic OpenID Connect provider signs in too (oidc.ts); its sessions are the same
 * JWTs with the local user's id and session version.
 */
const log = createLogger("console-auth");

export function buildAuthOptions(db: Db, secret: string, oidc: OidcSettings | null = null): NextAuthOptions {
  return {
    secret,
    session: { strategy: "jwt", maxAge: 12 * 60 * 60 },
    // next-auth's own messages go through the one logger (never its default console output).
    logger: {
      error: (code, metadata) => log.error({ code, metadata }, "next-auth error"),
      warn: (code) => log.warn({ code }, "next-auth warning"),
      debug: () => {},
    },
    pages: { signIn: "/signin", error: "/signin" },
    providers: [
      CredentialsProvider({
        id: "credentials",
        name: "Email and password",
        credentials: {
          email: { label: "Email", type: "email" },
          password: { label: "Password", type: "password" },
          code: { label: "Authentication code", type: "text" },
        },
        authorize: (credentials) => authorizeCredentials(db, credentials, secret),
      }),
      ...(oidc ? [oidcProvider(oidc)] : []),
    ],
    callbacks: {
      // OIDC: the IdP vouched for a subject; decide which local user that is (or refuse, with a
      // reason the sign-in page explains). Credentials sign-ins were decided in `authorize`.
      async signIn({ account, profile }) {
        if (account?.provider !== OIDC_PROVIDER_ID || !oidc) return true;
        const identity = identityFromClaims(oidc.issuer, profile);
        if (!identity) return "/signin?error=OAuthCallback";
        const result = await linkOidcUser(db, identity);
        return result.ok ? true : `/signin?error=${result.reason}`;
      },
      async jwt({ token, user, account }) {
        if (user && account?.provider === OIDC_PROVIDER_ID && oidc) {
          // `user.id` is the IdP's subject here; the token carries the local user signIn chose.
          const local = await userOfOidcAccount(
            db,
            oidcAccountProvider(oidc.issuer),
            account.providerAccountId,
          );
          if (!local) throw new Error("OIDC sign-in without a linked user");
          token.userId = local.id;
          token.sessionVersion = local.sessionVersion;
          token.sub = local.id;
        } else if (user) {
          token.userId = user.id;
          token.sessionVersion = user.sessionVersion;
        }
        return token;
      },
      session({ session, token }) {
        session.userId = token.userId ?? "";
        session.sessionVersion = token.sessionVersion ?? -1;
        return session;
      },
    },
  };
}

let options: NextAuthOptions | undefined;

/** The app's options, built on first request so the build reads no environment. */
export function authOptions(): NextAuthOptions {
  options ??= buildAuthOptions(appDb(), authSecret(), oidcSettings());
  return options;
}
