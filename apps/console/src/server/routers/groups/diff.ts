import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { configText } from "../../agent-config.ts";
import { lineDiff } from "../../line-diff.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/** The line diff between two revisions' configurations. */
export const diff = orgProcedure("groups.read")
  .input(z.object({ groupId: z.uuid(), from: z.number().int().min(1), to: z.number().int().min(1) }))
  .output(z.object({ lines: z.array(z.object({ op: z.enum(["same", "add", "del"]), text: z.string() })) }))
  .query(async ({ ctx, input }) => {
    const rows = await ctx.db.agentGroupConfig.findMany({
      where: { groupId: input.groupId, revision: { in: [input.from, input.to] } },
      select: { revision: true, config: true },
    });
    const from = rows.find((r) => r.revision === input.from);
    const to = rows.find((r) => r.revision === input.to);
    if (!from || !to) throw new TRPCError({ code: "NOT_FOUND", message: "No such revision in this group." });
    return { lines: lineDiff(configText(from.config), configText(to.config)) };
  });
