import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { NextRequest } from "next/server";
import { getToken } from "next-auth/jwt";
import { authSecret, consoleEnv } from "../../../../env.ts";
import { claimsFrom } from "../../../../server/auth/principal.ts";
import { appDb } from "../../../../server/db.ts";
import { appRouter } from "../../../../server/routers/_app.ts";
import { createContext } from "../../../../server/trpc/context.ts";

export const dynamic = "force-dynamic";

/**
 * The console's public origin for links in answers (invitations, reset links, the controller
 * host): NEXTAUTH_URL when set, else the Host the client used (Next's own URL may say localhost).
 */
function publicOrigin(req: NextRequest): string {
  const configured = consoleEnv().NEXTAUTH_URL;
  if (configured) return new URL(configured).origin;
  const host = req.headers.get("x-forwarded-host") ?? req.headers.get("host");
  const proto = req.headers.get("x-forwarded-proto") ?? req.nextUrl.protocol.replace(":", "");
  return host ? `${proto}://${host}` : req.nextUrl.origin;
}

function handler(req: NextRequest) {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: async () =>
      createContext({
        db: appDb(),
        claims: claimsFrom(await getToken({ req, secret: authSecret() })),
        headers: req.headers,
        origin: publicOrigin(req),
      }),
  });
}

export { handler as GET, handler as POST };
