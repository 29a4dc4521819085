import { TOPOLOGY_GROUPS, topologyEdges, ZTopologyEdge } from "@flowplane/query";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { analysisClickhouse, asBadRequest, filtersInput, rangeInput } from "./shared.ts";

/** Service-map edges for a range, grouped by a dimension. */
export const topology = orgProcedure("telemetry.read")
  .input(
    z.object({ ...rangeInput, groupBy: z.enum(TOPOLOGY_GROUPS).default("service"), filters: filtersInput }),
  )
  .output(z.object({ edges: z.array(ZTopologyEdge), source: z.enum(["raw", "rollup"]) }))
  .query(({ ctx, input }) =>
    asBadRequest(() =>
      topologyEdges(analysisClickhouse(), {
        orgId: ctx.org.id,
        from: input.from,
        to: input.to,
        groupBy: input.groupBy,
        filters: input.filters,
      }),
    ),
  );
