import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";

/** Enrolment tokens (prefix only) with their group, expiry and use count. */
export const list = orgProcedure("enrollment.read")
  .output(
    z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        prefix: z.string(),
        groupId: z.string(),
        groupName: z.string(),
        expiresAt: z.string(),
        revokedAt: z.string().nullable(),
        uses: z.number().int(),
        maxUses: z.number().int().nullable(),
        createdAt: z.string(),
        status: z.enum(["active", "expired", "revoked", "used up"]),
      }),
    ),
  )
  .query(async ({ ctx }) => {
    const rows = await ctx.db.enrollmentToken.findMany({
      select: {
        id: true,
        name: true,
        prefix: true,
        groupId: true,
        expiresAt: true,
        revokedAt: true,
        uses: true,
        maxUses: true,
        createdAt: true,
        group: { select: { name: true } },
      },
      orderBy: { createdAt: "desc" },
    });
    const now = Date.now();
    return rows.map(({ group, ...r }) => ({
      ...r,
      groupName: group.name,
      expiresAt: r.expiresAt.toISOString(),
      revokedAt: r.revokedAt ? r.revokedAt.toISOString() : null,
      createdAt: r.createdAt.toISOString(),
      status: r.revokedAt
        ? ("revoked" as const)
        : r.expiresAt.getTime() <= now
          ? ("expired" as const)
          : r.maxUses !== null && r.uses >= r.maxUses
            ? ("used up" as const)
            : ("active" as const),
    }));
  });
