import { generateToken, roleAtLeast } from "@flowplane/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { writeAudit } from "../../audit.ts";
import { orgProcedure } from "../../trpc/procedures.ts";
import { roleSchema } from "../members/shared.ts";

/** Creates a key with a role no higher than the caller's; the token is returned this once. */
export const create = orgProcedure("apikeys.write")
  .input(
    z.object({
      name: z.string().trim().min(1, "Give the key a name.").max(100),
      role: roleSchema,
      expiresInDays: z.number().int().min(1).max(3650).optional(),
    }),
  )
  .output(
    z.object({ id: z.string(), name: z.string(), prefix: z.string(), role: roleSchema, token: z.string() }),
  )
  .mutation(async ({ ctx, input }) => {
    if (!roleAtLeast(ctx.role, input.role)) {
      throw new TRPCError({
        code: "FORBIDDEN",
        message: `A ${ctx.role} cannot create a key with the ${input.role} role.`,
      });
    }
    const { token, prefix, hash } = generateToken("api");
    const key = await ctx.db.apiKey.create({
      data: {
        orgId: ctx.org.id,
        name: input.name,
        role: input.role,
        prefix,
        tokenHash: hash,
        createdById: ctx.principal.kind === "user" ? ctx.principal.userId : null,
        expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null,
      },
      select: { id: true, name: true, prefix: true, role: true, expiresAt: true },
    });
    await writeAudit(ctx, { action: "apikeys.create", targetType: "api_key", targetId: key.id, after: key });
    return { id: key.id, name: key.name, prefix: key.prefix, role: key.role, token };
  });
