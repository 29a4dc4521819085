import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { NextRequest } from "next/server";
import { getToken } from "next-auth/jwt";
import { authSecret } from "../../../../env.ts";
import { claimsFrom } from "../../../../server/auth/principal.ts";
import { appDb } from "../../../../server/db.ts";
import { appRouter } from "../../../../server/routers/_app.ts";
import { createContext } from "../../../../server/trpc/context.ts";

export const dynamic = "force-dynamic";

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
        origin: req.nextUrl.origin,
      }),
  });
}

export { handler as GET, handler as POST };
