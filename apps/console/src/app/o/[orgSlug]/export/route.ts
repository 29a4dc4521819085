import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { serverCaller } from "../../../../server/caller.ts";

export const dynamic = "force-dynamic";

/** GET: the org's configuration as a JSON download (owner only, through the same org check). */
export async function GET(_req: Request, { params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  try {
    const doc = await (await serverCaller()).org.export({ orgSlug });
    return new Response(JSON.stringify(doc, null, 2), {
      headers: {
        "content-type": "application/json; charset=utf-8",
        "content-disposition": `attachment; filename="flowplane-${orgSlug}-config.json"`,
        "cache-control": "no-store",
      },
    });
  } catch (err) {
    if (!(err instanceof TRPCError)) throw err;
    return Response.json({ error: err.message }, { status: getHTTPStatusCodeFromError(err) });
  }
}
