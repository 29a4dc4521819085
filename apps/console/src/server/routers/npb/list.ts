import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

const ZPolicyView = z.object({
  id: z.string(),
  name: z.string(),
  priority: z.number().int(),
  enabled: z.boolean(),
  groupIds: z.array(z.string()),
  continueMatching: z.boolean(),
  match: z.unknown(),
  action: z.unknown(),
  updatedAt: z.date(),
});

/** The org's packet-broker policies in evaluation order, and its groups (to name groupIds). */
export const list = orgProcedure("policies.read")
  .output(
    z.object({
      policies: z.array(ZPolicyView),
      groups: z.array(z.object({ id: z.string(), name: z.string() })),
    }),
  )
  .query(async ({ ctx }) => {
    const [policies, groups] = await Promise.all([
      ctx.db.packetBrokerPolicy.findMany({
        orderBy: [{ priority: "asc" }, { id: "asc" }],
        select: {
          id: true,
          name: true,
          priority: true,
          enabled: true,
          groupIds: true,
          continueMatching: true,
          match: true,
          action: true,
          updatedAt: true,
        },
      }),
      ctx.db.agentGroup.findMany({ orderBy: { name: "asc" }, select: { id: true, name: true } }),
    ]);
    return { policies, groups };
  });
