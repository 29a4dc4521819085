import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

export const groupRow = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  currentRevision: z.number().int(),
  agents: z.number().int(),
  updatedAt: z.string(),
});

/** The org's agent groups with their agent counts. */
export const list = orgProcedure("groups.read")
  .output(z.array(groupRow))
  .query(async ({ ctx }) => {
    const groups = await ctx.db.agentGroup.findMany({
      select: {
        id: true,
        name: true,
        description: true,
        currentRevision: true,
        updatedAt: true,
        _count: { select: { agents: true } },
      },
      orderBy: { name: "asc" },
    });
    return groups.map(({ _count, updatedAt, ...g }) => ({
      ...g,
      agents: _count.agents,
      updatedAt: updatedAt.toISOString(),
    }));
  });
