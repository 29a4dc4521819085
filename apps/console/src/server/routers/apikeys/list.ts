import { z } from "zod";
import { orgProcedure } from "../../trpc/procedures.ts";
import { roleSchema } from "../members/shared.ts";

/** The org's API keys: never the token, only its prefix. */
export const list = orgProcedure("apikeys.read")
  .output(
    z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        prefix: z.string(),
        role: roleSchema,
        createdAt: z.string(),
        lastUsedAt: z.string().nullable(),
        expiresAt: z.string().nullable(),
        revokedAt: z.string().nullable(),
      }),
    ),
  )
  .query(async ({ ctx }) => {
    const keys = await ctx.db.apiKey.findMany({
      select: {
        id: true,
        name: true,
        prefix: true,
        role: true,
        createdAt: true,
        lastUsedAt: true,
        expiresAt: true,
        revokedAt: true,
      },
      orderBy: { createdAt: "desc" },
    });
    const iso = (d: Date | null) => (d ? d.toISOString() : null);
    return keys.map((k) => ({
      ...k,
      createdAt: k.createdAt.toISOString(),
      lastUsedAt: iso(k.lastUsedAt),
      expiresAt: iso(k.expiresAt),
      revokedAt: iso(k.revokedAt),
    }));
  });
