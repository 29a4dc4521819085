import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/** Deletes a policy; agents stop forwarding for it at their next sync. Its counters stay. */
export const remove = orgProcedure("policies.write")
  .input(z.object({ id: z.uuid() }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const before = await ctx.db.packetBrokerPolicy.findUnique({ where: { id: input.id } });
    if (!before) throw new TRPCError({ code: "NOT_FOUND", message: "No such policy." });
    await ctx.db.packetBrokerPolicy.deleteMany({ where: { id: input.id } });
    await writeAudit(ctx, {
      action: "npb.policy.delete",
      targetType: "packet_broker_policy",
      targetId: input.id,
      before,
    });
    return { id: input.id };
  });
