import { TOPOLOGY_GROUPS, topologyEdges, ZTopologyEdge } from "@flowplane/query";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { analysisClickhouse, asBadRequest, filtersInput, rangeInput } from "./shared.ts";

/** Service-map edges for a range, grouped by a dimension. */
export const topology = orgProcedure("telemetry.read")
  .input(
    z.object({
      ...rangeInput,
      groupBy: z.enum(TOPOLOGY_GROUPS).default("service"),
      /** The K8s label key when grouping by "label". */
      labelKey: z.string().min(1).max(253).optional(),
      filters: filtersInput,
    }),
  )
  .output(
    z.object({
      edges: z.array(ZTopologyEdge),
      source: z.enum(["raw", "rollup"]),
      /** The range answered: rollups widen it to whole hours. */
      from: z.number(),
      to: z.number(),
    }),
  )
  .query(({ ctx, input }) =>
    asBadRequest(() =>
      topologyEdges(analysisClickhouse(), {
        orgId: ctx.org.id,
        from: input.from,
        to: input.to,
        groupBy: input.groupBy,
        labelKey: input.labelKey,
        filters: input.filters,
      }),
    ),
  );
