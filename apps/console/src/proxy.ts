import { type NextRequest, NextResponse } from "next/server";
import { getToken } from "next-auth/jwt";
import { authSecret } from "./env.ts";

/**
 * The cheap first gate: pages need a valid session JWT, else a redirect to /signin. The full
 * check (user still exists, session version current, membership, role) happens server-side in
 * the pages and in tRPC's orgProcedure; this only spares anonymous visitors a render.
 */
export async function proxy(req: NextRequest) {
  const token = await getToken({ req, secret: authSecret() });
  if (token) return NextResponse.next();
  const url = new URL("/signin", req.url);
  const back = req.nextUrl.pathname + req.nextUrl.search;
  if (back !== "/") url.searchParams.set("callbackUrl", back);
  return NextResponse.redirect(url);
}

export const config = {
  // Everything except sign-in, sign-up, password reset, the APIs (tRPC answers 401 itself), health and static assets.
  matcher: [
    "/((?!signin|signup|forgot-password|reset-password|api/|healthz|_next/|favicon\\.ico|robots\\.txt).*)",
  ],
};
