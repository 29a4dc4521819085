import { flowLogCount, flowLogPage, L4_SORT_COLUMNS, ZL4FlowLogRow } from "@flowplane/query";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { analysisClickhouse, asBadRequest, filtersInput, rangeInput } from "./shared.ts";

export const flowsInput = z.object({
  ...rangeInput,
  filters: filtersInput,
  sort: z.enum(Object.keys(L4_SORT_COLUMNS) as [keyof typeof L4_SORT_COLUMNS]).default("end_time"),
  dir: z.enum(["asc", "desc"]).default("desc"),
  cursor: z.string().max(200).optional(),
  limit: z.number().int().min(1).max(500).default(100),
});

/** One page of the org's L4 flow reports, with the total matching the filter on the first page. */
export const flows = orgProcedure("telemetry.read")
  .input(flowsInput)
  .output(
    z.object({
      rows: z.array(ZL4FlowLogRow),
      nextCursor: z.string().nullable(),
      total: z.number().nullable(),
    }),
  )
  .query(({ ctx, input }) =>
    asBadRequest(async () => {
      const { orgSlug: _slug, ...q } = input;
      const params = { ...q, orgId: ctx.org.id };
      const [page, total] = await Promise.all([
        flowLogPage(analysisClickhouse(), params),
        input.cursor ? null : flowLogCount(analysisClickhouse(), params),
      ]);
      return { rows: page.rows, nextCursor: page.nextCursor ?? null, total };
    }),
  );
