import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

/** What the org's landing page shows: who you are there and the fleet at a glance. */
export const overview = orgProcedure("org.read")
  .output(
    z.object({
      org: z.object({ id: z.string(), name: z.string(), slug: z.string() }),
      role: z.enum(["owner", "admin", "editor", "viewer"]),
      agents: z.object({ total: z.number().int(), online: z.number().int(), archived: z.number().int() }),
      groups: z.number().int(),
    }),
  )
  .query(async ({ ctx }) => {
    // Archived agents (long silent, hidden from the list) are not part of the fleet's totals.
    const [total, online, archived, groups] = await Promise.all([
      ctx.db.agent.count({ where: { archivedAt: null } }),
      ctx.db.agent.count({ where: { archivedAt: null, state: "online" } }),
      ctx.db.agent.count({ where: { archivedAt: { not: null } } }),
      ctx.db.agentGroup.count(),
    ]);
    return { org: ctx.org, role: ctx.role, agents: { total, online, archived }, groups };
  });
