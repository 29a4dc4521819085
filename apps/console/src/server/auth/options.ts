import { createLogger } from "@flowplane/core/log";
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { authSecret } from "../../env.ts";
import { appDb, type Db } from "../db.ts";
import { authorizeCredentials } from "./credentials.ts";

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
 * and session version, which every request re-checks against the database (principal.ts).
 */
const log = createLogger("console-auth");

export function buildAuthOptions(db: Db, secret: string): NextAuthOptions {
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
    ],
    callbacks: {
      jwt({ token, user }) {
        if (user) {
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
  options ??= buildAuthOptions(appDb(), authSecret());
  return options;
}
