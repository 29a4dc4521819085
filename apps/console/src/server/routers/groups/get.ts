import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { configText } from "../../agent-config.ts";
import { orgProcedure } from "../../trpc/procedures.ts";

/** One group: its current configuration (as stable text) and the revision history, newest first. */
export const get = orgProcedure("groups.read")
  .input(z.object({ groupId: z.uuid() }))
  .output(
    z.object({
      id: z.string(),
      name: z.string(),
      description: z.string().nullable(),
      currentRevision: z.number().int(),
      agents: z.number().int(),
      configText: z.string(),
      history: z.array(
        z.object({
          revision: z.number().int(),
          comment: z.string().nullable(),
          createdAt: z.string(),
          createdBy: z.string().nullable(),
        }),
      ),
    }),
  )
  .query(async ({ ctx, input }) => {
    const group = await ctx.db.agentGroup.findUnique({
      where: { id: input.groupId },
      select: {
        id: true,
        name: true,
        description: true,
        currentRevision: true,
        _count: { select: { agents: true } },
      },
    });
    if (!group) throw new TRPCError({ code: "NOT_FOUND", message: "No such agent group." });
    const configs = await ctx.db.agentGroupConfig.findMany({
      where: { groupId: group.id },
      select: { revision: true, comment: true, createdAt: true, createdById: true, config: true },
      orderBy: { revision: "desc" },
    });
    const authorIds = [...new Set(configs.map((c) => c.createdById).filter((id): id is string => !!id))];
    const authors = authorIds.length
      ? await ctx.db.user.findMany({ where: { id: { in: authorIds } }, select: { id: true, email: true } })
      : [];
    const emails = new Map(authors.map((a) => [a.id, a.email]));
    const current = configs.find((c) => c.revision === group.currentRevision);
    const { _count, ...rest } = group;
    return {
      ...rest,
      agents: _count.agents,
      configText: configText(current?.config ?? {}),
      history: configs.map((c) => ({
        revision: c.revision,
        comment: c.comment,
        createdAt: c.createdAt.toISOString(),
        createdBy: c.createdById ? (emails.get(c.createdById) ?? c.createdById) : null,
      })),
    };
  });
