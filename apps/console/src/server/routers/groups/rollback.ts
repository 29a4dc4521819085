import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { appendRevision } from "./save-config.ts";

/** Rollback never rewrites history: it appends a new revision equal to an old one. */
export const rollback = orgProcedure("groups.write")
  .input(
    z.object({
      groupId: z.uuid(),
      toRevision: z.number().int().min(1),
      baseRevision: z.number().int().min(0),
    }),
  )
  .output(z.object({ revision: z.number().int() }))
  .mutation(async ({ ctx, input }) => {
    const old = await ctx.db.agentGroupConfig.findFirst({
      where: { groupId: input.groupId, revision: input.toRevision },
      select: { config: true },
    });
    if (!old)
      throw new TRPCError({ code: "NOT_FOUND", message: `Revision ${input.toRevision} does not exist.` });
    return appendRevision(
      ctx,
      input.groupId,
      input.baseRevision,
      old.config,
      `rollback to r${input.toRevision}`,
      "groups.config.rollback",
    );
  });
