import { flowDetail as flowDetailQuery, ZL4FlowLogRow, ZL7FlowLogRow } from "@flowplane/query";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { analysisClickhouse, asBadRequest } from "./shared.ts";

/** A flow's reports and the L7 requests it carried (flow ids are unique per agent: both key it). */
export const flowDetail = orgProcedure("telemetry.read")
  .input(
    z.object({
      flowId: z.string().regex(/^\d{1,20}$/),
      agentId: z.uuid(),
      at: z.number().int().positive(),
    }),
  )
  .output(z.object({ reports: z.array(ZL4FlowLogRow), l7: z.array(ZL7FlowLogRow) }))
  .query(({ ctx, input }) =>
    asBadRequest(() =>
      flowDetailQuery(analysisClickhouse(), {
        orgId: ctx.org.id,
        flowId: input.flowId,
        agentId: input.agentId,
        at: input.at,
      }),
    ),
  );
