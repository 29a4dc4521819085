import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { roleSchema } from "./shared.ts";

/** The org's members with their role. */
export const list = orgProcedure("members.read")
  .output(
    z.array(
      z.object({
        userId: z.string(),
        email: z.string(),
        name: z.string().nullable(),
        role: roleSchema,
        since: z.string(),
      }),
    ),
  )
  .query(async ({ ctx }) => {
    const rows = await ctx.db.membership.findMany({
      select: { role: true, createdAt: true, user: { select: { id: true, email: true, name: true } } },
      orderBy: { createdAt: "asc" },
    });
    return rows.map((m) => ({
      userId: m.user.id,
      email: m.user.email,
      name: m.user.name,
      role: m.role,
      since: m.createdAt.toISOString(),
    }));
  });
