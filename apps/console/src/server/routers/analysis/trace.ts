import { assembleTrace, ZL7FlowLogRow } from "@flowplane/query";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { analysisClickhouse, asBadRequest, rangeInput } from "./shared.ts";

const span = z.object({
  key: z.string(),
  row: ZL7FlowLogRow,
  linkedBy: z.enum(["seed", "trace_id", "x_request_id", "tcp_seq"]),
  parent: z.number(),
  depth: z.number(),
  peer: z.number(),
  inRange: z.boolean(),
});
const traceBreak = z.object({
  span: z.number(),
  kind: z.enum(["no_trace_key", "missing_hop", "outside_range", "one_side_only"]),
  message: z.string(),
});

/** Spans of one trace across agents, and where and why it breaks. */
export const trace = orgProcedure("telemetry.read")
  .input(
    z.object({
      ...rangeInput,
      traceId: z.string().min(1).max(128).optional(),
      xRequestId: z.string().min(1).max(128).optional(),
      flowId: z
        .string()
        .regex(/^\d{1,20}$/)
        .optional(),
      reqTcpSeq: z.number().int().min(0).max(4_294_967_295).optional(),
      /** The agent of that flow (needed with flowId: flow ids are unique per agent only). */
      agentId: z.uuid().optional(),
    }),
  )
  .output(z.object({ spans: z.array(span), breaks: z.array(traceBreak) }))
  .query(({ ctx, input }) =>
    asBadRequest(() => {
      const { orgSlug: _slug, ...q } = input;
      return assembleTrace(analysisClickhouse(), { ...q, orgId: ctx.org.id });
    }),
  );
