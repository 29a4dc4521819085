import NextAuth from "next-auth";
import { authOptions } from "../../../../server/auth/options.ts";

export const dynamic = "force-dynamic";

type RouteContext = { params: Promise<{ nextauth: string[] }> };

// Options are built per first request (not at import) so `next build` needs no secret or database.
async function handler(req: Request, context: RouteContext) {
  return NextAuth(req as never, context as never, authOptions());
}

export { handler as GET, handler as POST };
