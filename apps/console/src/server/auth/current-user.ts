import { redirect } from "next/navigation";
import { getServerSession } from "next-auth";
import { cache } from "react";
import { appDb } from "../db.ts";
import { authOptions } from "./options.ts";
import { claimsFrom, principalFromClaims, type SessionClaims, type UserPrincipal } from "./principal.ts";

/** The session's claims for this request (server components and route handlers). */
export const currentClaims = cache(async (): Promise<SessionClaims | null> => {
  return claimsFrom(await getServerSession(authOptions()));
});

/** The signed-in user, re-checked against the database, or null. Memoised per request. */
export const currentUser = cache(async (): Promise<UserPrincipal | null> => {
  return principalFromClaims(appDb(), await currentClaims());
});

/** For pages: the user, or a redirect to the sign-in page. */
export async function requireUser(callbackUrl?: string): Promise<UserPrincipal> {
  const user = await currentUser();
  if (!user) redirect(callbackUrl ? `/signin?callbackUrl=${encodeURIComponent(callbackUrl)}` : "/signin");
  return user;
}
