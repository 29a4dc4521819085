import { z } from "zod";
import { authedProcedure } from "../../trpc/procedures.ts";

export const orgSummary = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  role: z.enum(["owner", "admin", "editor", "viewer"]),
});

/** The organizations the signed-in user belongs to, with their role in each (the org switcher). */
export const list = authedProcedure
  .input(z.void())
  .output(z.array(orgSummary))
  .query(async ({ ctx }) => {
    // Deliberately cross-tenant: it lists the caller's own memberships, nothing else.
    const memberships = await ctx.db.unsafe.membership.findMany({
      where: { userId: ctx.principal.userId, organization: { deletedAt: null } },
      select: { role: true, organization: { select: { id: true, name: true, slug: true } } },
      orderBy: { organization: { name: "asc" } },
    });
    return memberships.map((m) => ({ ...m.organization, role: m.role }));
  });
