import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { agentState } from "./list.ts";

/**
 * Disables an agent (the controller refuses its syncs and ingest) or enables it again (it returns
 * as pending until its next heartbeat).
 */
export const setDisabled = orgProcedure("agents.write")
  .input(z.object({ agentId: z.uuid(), disabled: z.boolean() }))
  .output(z.object({ id: z.string(), state: agentState }))
  .mutation(async ({ ctx, input }) => {
    const before = await ctx.db.agent.findUnique({
      where: { id: input.agentId },
      select: { id: true, state: true, disabledAt: true },
    });
    if (!before) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent." });
    const data = input.disabled
      ? { state: "disabled" as const, disabledAt: new Date() }
      : { state: "pending" as const, disabledAt: null };
    const after = await ctx.db.agent.update({
      where: { id: before.id },
      data,
      select: { id: true, state: true, disabledAt: true },
    });
    await writeAudit(ctx, {
      action: input.disabled ? "agents.disable" : "agents.enable",
      targetType: "agent",
      targetId: before.id,
      before,
      after,
    });
    return { id: after.id, state: after.state };
  });
