import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

export const agentState = z.enum(["pending", "online", "degraded", "offline", "disabled"]);

/** One row of the fleet table. Credentials and hashes never leave the server. */
export const agentRow = z.object({
  id: z.string(),
  name: z.string(),
  hostname: z.string(),
  state: agentState,
  version: z.string().nullable(),
  groupName: z.string(),
  /** ISO 8601, so the row is the same over HTTP (JSON) and in server components. */
  lastSeenAt: z.string().nullable(),
});

export const list = orgProcedure("agents.read")
  .input(z.object({ state: agentState.optional() }))
  .output(z.array(agentRow))
  .query(async ({ ctx, input }) => {
    const agents = await ctx.db.agent.findMany({
      where: input.state ? { state: input.state } : {},
      select: {
        id: true,
        name: true,
        hostname: true,
        state: true,
        version: true,
        lastSeenAt: true,
        group: { select: { name: true } },
      },
      orderBy: [{ name: "asc" }, { id: "asc" }],
      take: 5000,
    });
    return agents.map(({ group, lastSeenAt, ...a }) => ({
      ...a,
      groupName: group.name,
      lastSeenAt: lastSeenAt ? lastSeenAt.toISOString() : null,
    }));
  });
