import { agentHealthSeries, ZAgentHealthPoint } from "@flowplane/query";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { orStoreUnavailable } from "../../telemetry-store.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { analysisClickhouse, asBadRequest } from "../analysis/shared.ts";

const MAX_RANGE_US = 31 * 24 * 3600 * 1_000_000;

/**
 * An agent's heartbeat history (CPU, memory, packets/s, drops, state) from ClickHouse
 * `agent_health`, per step (at most 360 points). The agent is looked up in the caller's org first,
 * so another org's agent id is NOT_FOUND, and the ClickHouse read is scoped to the org as well.
 * A store that does not answer is SERVICE_UNAVAILABLE with a sentence the health card shows.
 */
export const health = orgProcedure("agents.read")
  .input(
    z
      .object({ agentId: z.uuid(), from: z.number().int().nonnegative(), to: z.number().int().positive() })
      .refine((r) => r.to > r.from, "`to` must be after `from`")
      .refine((r) => r.to - r.from <= MAX_RANGE_US, "at most 31 days per request"),
  )
  .output(z.object({ stepS: z.number().int(), points: z.array(ZAgentHealthPoint) }))
  .query(async ({ ctx, input }) => {
    const agent = await ctx.db.agent.findUnique({ where: { id: input.agentId }, select: { id: true } });
    if (!agent) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent." });
    return orStoreUnavailable("health history", ctx.log, () =>
      asBadRequest(() =>
        agentHealthSeries(analysisClickhouse(), {
          orgId: ctx.org.id,
          agentId: agent.id,
          from: input.from,
          to: input.to,
        }),
      ),
    );
  });
