import { FlowplaneError } from "@flowplane/core/errors";
import { FilterError, flowLogCsv, L4_SORT_COLUMNS } from "@flowplane/query";
import { rangeMicros, readFilters, readRange } from "../../../../../analysis/url-state.ts";
import { currentUser } from "../../../../../server/auth/current-user.ts";
import { appDb } from "../../../../../server/db.ts";
import { analysisClickhouse } from "../../../../../server/routers/analysis/shared.ts";
import { checkOrgAccess } from "../../../../../server/trpc/procedures.ts";

export const dynamic = "force-dynamic";

/**
 * GET: the flow reports matching the page's URL (range, filters, sort) as CSV, streamed page by
 * page (at most 1 M rows). Same org check as every procedure (telemetry.read).
 */
export async function GET(req: Request, { params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const user = await currentUser();
  if (!user) return Response.json({ error: "Sign in first." }, { status: 401 });
  let orgId: string;
  try {
    orgId = (await checkOrgAccess(appDb(), user, orgSlug, "telemetry.read")).org.id;
  } catch (err) {
    if (err instanceof FlowplaneError)
      return Response.json({ error: err.message }, { status: err.httpStatus });
    throw err;
  }
  const sp = new URL(req.url).searchParams;
  const sortParam = sp.get("sort") ?? "end_time";
  const sort = (sortParam in L4_SORT_COLUMNS ? sortParam : "end_time") as keyof typeof L4_SORT_COLUMNS;
  const input = {
    orgId,
    ...rangeMicros(readRange(sp)),
    filters: readFilters(sp),
    sort,
    dir: sp.get("dir") === "asc" ? ("asc" as const) : ("desc" as const),
  };
  const rows = flowLogCsv(analysisClickhouse(), input);
  // The first chunk is produced before answering, so a bad filter is a 400 rather than a broken download.
  let first: IteratorResult<string>;
  try {
    first = await rows.next();
  } catch (err) {
    if (err instanceof FilterError) return Response.json({ error: err.message }, { status: 400 });
    throw err;
  }
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      if (!first.done) controller.enqueue(encoder.encode(first.value));
    },
    async pull(controller) {
      try {
        const next = await rows.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel() {
      await rows.return(undefined);
    },
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="flowplane-${orgSlug}-flows.csv"`,
      "cache-control": "no-store",
    },
  });
}
