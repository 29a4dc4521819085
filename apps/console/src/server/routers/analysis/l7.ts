import { L7_SORT_COLUMNS, l7LogCount, l7LogPage, ZL7FlowLogRow } from "@flowplane/query";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { analysisClickhouse, asBadRequest, filtersInput, rangeInput } from "./shared.ts";

/** One page of the org's L7 request logs, with the total matching the filter on the first page. */
export const l7 = orgProcedure("telemetry.read")
  .input(
    z.object({
      ...rangeInput,
      filters: filtersInput,
      sort: z.enum(Object.keys(L7_SORT_COLUMNS) as [keyof typeof L7_SORT_COLUMNS]).default("start_time"),
      dir: z.enum(["asc", "desc"]).default("desc"),
      cursor: z.string().max(200).optional(),
      limit: z.number().int().min(1).max(500).default(100),
    }),
  )
  .output(
    z.object({
      rows: z.array(ZL7FlowLogRow),
      nextCursor: z.string().nullable(),
      total: z.number().nullable(),
    }),
  )
  .query(({ ctx, input }) =>
    asBadRequest(async () => {
      const { orgSlug: _slug, ...q } = input;
      const params = { ...q, orgId: ctx.org.id };
      const [page, total] = await Promise.all([
        l7LogPage(analysisClickhouse(), params),
        input.cursor ? null : l7LogCount(analysisClickhouse(), params),
      ]);
      return { rows: page.rows, nextCursor: page.nextCursor ?? null, total };
    }),
  );
