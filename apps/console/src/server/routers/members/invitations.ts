import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { roleSchema } from "./shared.ts";

/** Pending (not accepted, not expired) invitations. */
export const invitations = orgProcedure("members.write")
  .output(z.array(z.object({ id: z.string(), email: z.string(), role: roleSchema, expiresAt: z.string() })))
  .query(async ({ ctx }) => {
    const rows = await ctx.db.invitation.findMany({
      where: { acceptedAt: null, expiresAt: { gt: new Date() } },
      select: { id: true, email: true, role: true, expiresAt: true },
      orderBy: { createdAt: "desc" },
    });
    return rows.map((r) => ({ ...r, expiresAt: r.expiresAt.toISOString() }));
  });
